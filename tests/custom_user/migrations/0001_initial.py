from __future__ import annotations

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="Person",
            fields=[
                ("password", models.CharField(max_length=128, verbose_name="password")),
                (
                    "last_login",
                    models.DateTimeField(blank=True, null=True, verbose_name="last login"),
                ),
                (
                    "id",
                    models.UUIDField(
                        db_column="person id", default=uuid.uuid4, primary_key=True, serialize=False
                    ),
                ),
                ("email", models.EmailField(db_column="from", max_length=254, unique=True)),
                ("is_active", models.BooleanField(db_column="enabled", default=True)),
                (
                    "joined",
                    models.DateTimeField(db_column="select", default=django.utils.timezone.now),
                ),
                ("profile", models.JSONField(db_column="where", default=dict)),
            ],
            options={"db_table": "order"},
        ),
        migrations.CreateModel(
            name="Member",
            fields=[
                (
                    "person_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        serialize=False,
                        to="custom_user.person",
                    ),
                ),
                ("nickname", models.CharField(blank=True, db_column="group", max_length=50)),
            ],
            options={"db_table": "member table"},
            bases=("custom_user.person",),
        ),
    ]
