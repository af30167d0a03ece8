from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines"

    def ready(self):
        from django_q.signals import post_spawn

        import pipelines.delivery.outputs
        import pipelines.pull.schedules  # noqa: F401  (connects the Connector signals)
        from connectors import schema_guards
        from pipelines.delivery.tasks import sweep_when_a_worker_starts
        from pipelines.mapping.audit import register_pipelines
        from pipelines.mapping.schema_changes import schema_change_problems
        from pipelines.qcluster_worker import freeze_startup_objects
        from pipelines.schedules import ensure_schedules_after_migrate

        # A schema edit that would break a pipeline is refused wherever it is made.
        schema_guards.register("pipelines", schema_change_problems)
        register_pipelines()
        # After every migrate (django_q's tables exist by then): the sweeper and the purges.
        post_migrate.connect(
            ensure_schedules_after_migrate, sender=self, dispatch_uid="pipelines.schedules"
        )
        post_spawn.connect(sweep_when_a_worker_starts, dispatch_uid="pipelines.sweep_on_start")
        post_spawn.connect(freeze_startup_objects, dispatch_uid="pipelines.freeze_on_start")
