"""On PostgreSQL, a trigger that notifies every change of a CachedAccount row, so each
process's watch (msal_django/stores/database_watch.py) can serve remembered tokens with
no read and still never serve one after a logout. Nothing on other databases."""

from django.db import migrations

FUNCTION = "msal_django_cachedaccount_notify"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("msal_django", "CachedAccount")._meta.db_table)
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
          IF TG_LEVEL = 'STATEMENT' THEN
            PERFORM pg_notify('msal_django_cachedaccount', '');
            RETURN NULL;
          END IF;
          IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('msal_django_cachedaccount', OLD.home_account_id);
          END IF;
          IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('msal_django_cachedaccount', NEW.home_account_id);
          END IF;
          RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER {FUNCTION} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {FUNCTION}_truncate AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("msal_django", "CachedAccount")._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION}_truncate ON {table}")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("msal_django", "0002_provider_groups")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
