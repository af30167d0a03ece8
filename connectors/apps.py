from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        from connectors import audit, checks  # noqa: F401  (system checks, audit signals)
        from connectors.roles import ensure_role_groups_after_migrate

        audit.register_own()

        post_migrate.connect(
            ensure_role_groups_after_migrate, sender=self, dispatch_uid="connectors.role_groups"
        )
