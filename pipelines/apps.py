from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines"

    def ready(self):
        import pipelines.pull_schedules  # noqa: F401  (connects the Connector signals)
        from pipelines.schedules import ensure_schedules_after_migrate

        # After every migrate (django_q's tables exist by then): the sweeper and the purges.
        post_migrate.connect(
            ensure_schedules_after_migrate, sender=self, dispatch_uid="pipelines.schedules"
        )
