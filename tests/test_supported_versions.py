"""The suite holds the code to what the supported Django versions will keep."""

from __future__ import annotations

import warnings

import pytest
from django.utils import deprecation


@pytest.mark.parametrize(
    "category",
    [deprecation.RemovedInNextVersionWarning, deprecation.RemovedAfterNextVersionWarning],
)
def test_a_django_deprecation_warning_fails_the_test(category):
    with pytest.raises(category):
        warnings.warn("this is going away", category, stacklevel=1)
