"""The data layer: schema and migrations, ingestion writes, the report's
snapshot read. Modules are imported one by one (``storemon.data.snapshot``
stays free of SQLAlchemy for the report's start-up time), so nothing is
re-exported here."""
