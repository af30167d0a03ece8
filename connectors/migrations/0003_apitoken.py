"""Management API tokens of our own, stored hashed; DRF's plaintext authtoken keys move over."""

import hashlib
from datetime import UTC, datetime

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import connection as default_connection
from django.db import migrations, models
from django.utils.dateparse import parse_datetime

PLAINTEXT_TABLE = "authtoken_token"


def convert_plaintext_tokens(apps, schema_editor):
    """Keep every key of DRF's authtoken table working, hashed, and delete the plaintext rows.

    The table is read with SQL: rest_framework.authtoken is no longer an installed app.
    """
    connection = schema_editor.connection if schema_editor else default_connection
    if PLAINTEXT_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("connectors", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "key", "user_id", "created" FROM {PLAINTEXT_TABLE}')
        rows = cursor.fetchall()
        ApiToken.objects.bulk_create(
            ApiToken(
                user_id=user_id,
                name="drf_create_token (converted)",
                prefix=key[:4],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                created_at=_aware(created),
            )
            for key, user_id, created in rows
        )
        cursor.execute(f"DELETE FROM {PLAINTEXT_TABLE}")


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Migration(migrations.Migration):

    dependencies = [
        ('connectors', '0002_previous_signing_secret_expiry'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(blank=True, max_length=200)),
                ('prefix', models.CharField(help_text='The first characters of the key', max_length=12)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RunPython(convert_plaintext_tokens, migrations.RunPython.noop),
    ]
