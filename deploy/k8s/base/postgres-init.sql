-- GENERATED from services/common/catalogue.py by `make deploy-files`.
-- Run once by the postgres image on first start (empty data volume), as the
-- POSTGRES_USER superuser (alumni). One database per service that owns data;
-- each service's Alembic migrations create its tables at launch.
CREATE DATABASE registry OWNER alumni;
CREATE DATABASE events OWNER alumni;
CREATE DATABASE donations OWNER alumni;
CREATE DATABASE notify OWNER alumni;
