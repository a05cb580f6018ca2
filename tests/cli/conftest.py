from tests.sdk.service_fixtures import admin, app_client, migrated_sqlite

__all__ = ["admin", "app_client", "migrated_sqlite"]
