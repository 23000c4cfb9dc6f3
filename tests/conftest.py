"""The suite's shared machinery lives in ``tests/support``; this file only registers it.

- ``tests.support.servers``: PostgreSQL / MariaDB / SQLite fixtures and the
  CI-fails-when-a-server-is-missing policy;
- ``tests.support.projects``: workbench.toml writers and the session's demo projects;
- ``tests.support.s3``: a real S3-compatible server (moto) on loopback, credentials required,
  and a fresh bucket per test.

``tests.support.hostile`` holds no fixtures: it is the one corpus of hostile strings,
imported by the tests that feed it to each path.
"""

pytest_plugins = ["tests.support.servers", "tests.support.projects", "tests.support.s3"]
