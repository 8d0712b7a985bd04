"""A custom user model for the identity lookup's checks (``lookup_checks.py``), installed
only by ``tests.custom_user.settings`` in a child pytest run: a project's
``AUTH_USER_MODEL`` is fixed once its tables exist."""
