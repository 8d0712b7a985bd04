"""Custom user models that make a wrong identity lookup show: a UUID primary key, columns
and tables named after SQL keywords and with spaces (quoting), a boolean that must come
back as ``bool`` (``is_active is False`` refuses), an aware datetime, JSON
(``from_db_value``); and ``Member``, a user model over two tables (multi-table
inheritance)."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone


class Person(AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_column="person id")
    email = models.EmailField(unique=True, db_column="from")
    is_active = models.BooleanField(default=True, db_column="enabled")
    joined = models.DateTimeField(default=timezone.now, db_column="select")
    profile = models.JSONField(default=dict, db_column="where")

    objects = BaseUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        app_label = "custom_user"
        db_table = "order"


class Member(Person):
    nickname = models.CharField(max_length=50, blank=True, db_column="group")

    class Meta:
        app_label = "custom_user"
        db_table = "member table"
