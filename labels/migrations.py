"""Append-only, named schema migrations, each applied in one transaction with its record.

Never edit a migration that has shipped: add a new one. `migrate()` runs on every open.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from labels.timestamps import utc_now

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE models (
            model_id VARCHAR NOT NULL,
            revision VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            synthetic BOOLEAN NOT NULL DEFAULT false,
            library VARCHAR,
            pipeline_tag VARCHAR,
            license VARCHAR,
            gated VARCHAR,
            downloads BIGINT,
            likes BIGINT,
            params BIGINT,
            weights_mb DOUBLE,
            tags_json VARCHAR NOT NULL DEFAULT '[]',
            card_summary VARCHAR,
            first_seen_at TIMESTAMP NOT NULL,
            last_seen_at TIMESTAMP NOT NULL,
            PRIMARY KEY (model_id, revision)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE hardware (
            fingerprint VARCHAR PRIMARY KEY,
            profile VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            device_name VARCHAR NOT NULL,
            cpu_model VARCHAR NOT NULL,
            cpu_cores INTEGER NOT NULL,
            memory_gb DOUBLE NOT NULL,
            gpu_driver VARCHAR,
            gpu_power_limit_w DOUBLE,
            gpu_memory_gb DOUBLE,
            first_seen_at TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            scan_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            revision VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            hardware_profile VARCHAR NOT NULL,
            hardware_fingerprint VARCHAR NOT NULL,
            variant VARCHAR NOT NULL,
            tactic VARCHAR NOT NULL,
            status VARCHAR NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
            reason VARCHAR,
            energy_method VARCHAR,
            device VARCHAR,
            dtype VARCHAR,
            batch_size INTEGER,
            input_shape VARCHAR,
            harness_version VARCHAR NOT NULL,
            scheme_version VARCHAR NOT NULL,
            torch_version VARCHAR,
            transformers_version VARCHAR,
            cuda_version VARCHAR,
            started_at TIMESTAMP,
            finished_at TIMESTAMP,
            windows INTEGER NOT NULL DEFAULT 0,
            energy_wh_per_1k DOUBLE,
            energy_wh_per_1k_net DOUBLE,
            energy_wh_per_1k_min DOUBLE,
            energy_wh_per_1k_max DOUBLE,
            energy_cv DOUBLE,
            noisy BOOLEAN NOT NULL DEFAULT false,
            latency_ms_p50 DOUBLE,
            latency_ms_p95 DOUBLE,
            peak_mem_mb DOUBLE,
            idle_power_w DOUBLE,
            quality_metric VARCHAR,
            quality_value DOUBLE,
            quality_json VARCHAR NOT NULL DEFAULT '{}',
            qualifies BOOLEAN,
            build_s DOUBLE,
            build_energy_wh DOUBLE,
            size_mb DOUBLE,
            notes VARCHAR,
            provenance_json VARCHAR NOT NULL DEFAULT '{}'
        )
        """
    )
    con.execute(
        """
        CREATE TABLE measurements (
            run_id VARCHAR NOT NULL,
            window_index INTEGER NOT NULL,
            duration_s DOUBLE NOT NULL,
            iterations INTEGER NOT NULL,
            inferences INTEGER NOT NULL,
            energy_j DOUBLE NOT NULL,
            idle_energy_j DOUBLE NOT NULL,
            energy_wh_per_1k DOUBLE NOT NULL,
            energy_wh_per_1k_net DOUBLE NOT NULL,
            latency_ms_p50 DOUBLE NOT NULL,
            power_w DOUBLE NOT NULL,
            energy_method VARCHAR NOT NULL,
            temperature_c DOUBLE,
            sm_clock_mhz DOUBLE,
            PRIMARY KEY (run_id, window_index)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE labels (
            model_id VARCHAR NOT NULL,
            revision VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            hardware VARCHAR NOT NULL,
            scheme_version VARCHAR NOT NULL,
            grade VARCHAR,
            eei DOUBLE,
            energy_wh_per_1k DOUBLE,
            energy_method VARCHAR,
            best_variant VARCHAR,
            best_grade VARCHAR,
            best_energy_wh_per_1k DOUBLE,
            quality_retained DOUBLE,
            quality_metric VARCHAR,
            noisy BOOLEAN NOT NULL DEFAULT false,
            recommendations_json VARCHAR NOT NULL DEFAULT '[]',
            measured_at TIMESTAMP NOT NULL,
            graded_at TIMESTAMP NOT NULL,
            reason VARCHAR,
            PRIMARY KEY (model_id, revision, task, hardware, scheme_version)
        )
        """
    )
    con.execute(
        """
        CREATE VIEW latest_labels AS
        SELECT l.model_id, l.revision, l.task, l.hardware, l.grade, l.energy_wh_per_1k,
               l.best_variant, l.best_grade, l.best_energy_wh_per_1k, l.quality_retained,
               l.quality_metric, l.energy_method, l.energy_method = 'estimate' AS estimated,
               l.noisy, l.eei, l.scheme_version, l.measured_at, l.graded_at, l.reason,
               l.recommendations_json, m.source, m.synthetic
        FROM labels l
        LEFT JOIN models m USING (model_id, revision)
        QUALIFY row_number() OVER (
            PARTITION BY l.model_id, l.task, l.hardware
            ORDER BY l.measured_at DESC, l.graded_at DESC, l.scheme_version DESC
        ) = 1
        """
    )
    con.execute(
        """
        CREATE VIEW latest_runs AS
        SELECT r.*
        FROM runs r
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.revision, r.task, r.hardware_profile, r.variant
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )
    con.execute(
        """
        CREATE VIEW failures AS
        SELECT model_id, revision, task, hardware_profile, variant, status, reason, finished_at
        FROM latest_runs
        WHERE status <> 'ok'
        """
    )


@migration
def m002_paired_windows(con: duckdb.DuckDBPyConnection) -> None:
    """Harness 2 measures each variant in windows interleaved with baseline windows."""
    con.execute("ALTER TABLE runs ADD COLUMN paired_baseline_wh_per_1k DOUBLE")
    con.execute("ALTER TABLE runs ADD COLUMN paired_energy_ratio DOUBLE")
    con.execute("ALTER TABLE runs ADD COLUMN paired_latency_ratio DOUBLE")
    con.execute("ALTER TABLE runs ADD COLUMN paired_cheaper_windows INTEGER")
    con.execute(
        "ALTER TABLE measurements ADD COLUMN paired_baseline BOOLEAN NOT NULL DEFAULT false"
    )
    # views list `r.*`: bind them again so they show the new columns
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_runs AS
        SELECT r.*
        FROM runs r
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.revision, r.task, r.hardware_profile, r.variant
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )


@migration
def m003_reference_model(con: duckdb.DuckDBPyConnection) -> None:
    """Scheme v2: baselines measured beside a reference model; EEI intervals; grade history."""
    for column, kind in (
        ("reference_model", "VARCHAR"),
        ("reference_config_sha256", "VARCHAR"),
        ("reference_energy_wh_per_1k", "DOUBLE"),
        ("reference_ratios_json", "VARCHAR"),
    ):
        con.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    con.execute(
        "ALTER TABLE measurements ADD COLUMN reference_window BOOLEAN NOT NULL DEFAULT false"
    )
    for column, kind in (
        ("eei_low", "DOUBLE"),
        ("eei_high", "DOUBLE"),
        ("borderline", "BOOLEAN NOT NULL DEFAULT false"),
        ("reference_model", "VARCHAR"),
        ("reference_config_sha256", "VARCHAR"),
        ("measured_grade", "VARCHAR"),
        ("previous_grade", "VARCHAR"),
        ("grade_changed_at", "TIMESTAMP"),
        ("energy_j_per_token", "DOUBLE"),
    ):
        con.execute(f"ALTER TABLE labels ADD COLUMN {column} {kind}")
    # One row per (model, task, hardware, scheme, measurement): the published grade over time.
    con.execute(
        """
        CREATE TABLE label_history (
            model_id VARCHAR NOT NULL,
            revision VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            hardware VARCHAR NOT NULL,
            scheme_version VARCHAR NOT NULL,
            grade VARCHAR,
            measured_grade VARCHAR,
            eei DOUBLE,
            eei_low DOUBLE,
            eei_high DOUBLE,
            borderline BOOLEAN NOT NULL DEFAULT false,
            measured_at TIMESTAMP NOT NULL,
            graded_at TIMESTAMP NOT NULL,
            PRIMARY KEY (model_id, task, hardware, scheme_version, measured_at)
        )
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_labels AS
        SELECT l.model_id, l.revision, l.task, l.hardware, l.grade, l.energy_wh_per_1k,
               l.best_variant, l.best_grade, l.best_energy_wh_per_1k, l.quality_retained,
               l.quality_metric, l.energy_method, l.energy_method = 'estimate' AS estimated,
               l.noisy, l.eei, l.scheme_version, l.measured_at, l.graded_at, l.reason,
               l.recommendations_json, m.source, m.synthetic,
               l.eei_low, l.eei_high, l.borderline, l.reference_model,
               l.reference_config_sha256, l.measured_grade, l.previous_grade,
               l.grade_changed_at, l.energy_j_per_token
        FROM labels l
        LEFT JOIN models m USING (model_id, revision)
        QUALIFY row_number() OVER (
            PARTITION BY l.model_id, l.task, l.hardware
            ORDER BY l.measured_at DESC, l.graded_at DESC, l.scheme_version DESC
        ) = 1
        """
    )
    # views list `r.*`: bind latest_runs again so it shows the new columns (keeping the
    # protocol in its partition where m004 ran first, in a catalog made by an older build)
    has_protocol = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'runs' AND column_name = 'protocol'"
    ).fetchone()[0]
    con.execute(
        f"""
        CREATE OR REPLACE VIEW latest_runs AS
        SELECT r.*
        FROM runs r
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.revision, r.task, r.hardware_profile, r.variant
                         {", r.protocol" if has_protocol else ""}
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )


@migration
def m004_run_protocol(con: duckdb.DuckDBPyConnection) -> None:
    """Runs measured under another protocol (the AI Energy Score's) sit apart from labels."""
    con.execute("ALTER TABLE runs ADD COLUMN protocol VARCHAR NOT NULL DEFAULT 'scheme'")
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_runs AS
        SELECT r.*
        FROM runs r
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.revision, r.task, r.hardware_profile, r.variant,
                         r.protocol
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )
    con.execute(
        """
        CREATE VIEW energy_scores AS
        SELECT r.model_id, r.revision, r.task, r.hardware_profile AS hardware,
               r.energy_wh_per_1k AS energy_wh_per_1k_queries, r.energy_method,
               r.energy_method = 'estimate' AS estimated, r.windows, r.energy_cv,
               r.latency_ms_p50, r.dtype, r.device, r.finished_at AS measured_at, r.run_id
        FROM runs r
        WHERE r.protocol = 'energy-score' AND r.status = 'ok'
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.task, r.hardware_profile
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )


def _bind_latest_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Views list `r.*`: bind latest_runs again so it shows a column just added to runs."""
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_runs AS
        SELECT r.*
        FROM runs r
        QUALIFY row_number() OVER (
            PARTITION BY r.model_id, r.revision, r.task, r.hardware_profile, r.variant,
                         r.protocol
            ORDER BY r.finished_at DESC NULLS LAST
        ) = 1
        """
    )


@migration
def m005_run_batch_sweep(con: duckdb.DuckDBPyConnection) -> None:
    """A baseline's energy and latency at several batch sizes (`labeler scan --batch-sizes`):
    batching is a deployment tactic, measured beside the label's fixed workload."""
    con.execute("ALTER TABLE runs ADD COLUMN batch_sweep_json VARCHAR")
    _bind_latest_runs(con)


@migration
def m006_card_results_and_predictions(con: duckdb.DuckDBPyConnection) -> None:
    """What lets two models' quality be compared: the results their cards report
    (`model-index`) and, for classifiers, each baseline's top-1 labels on the reference inputs."""
    con.execute("ALTER TABLE models ADD COLUMN model_index_json VARCHAR NOT NULL DEFAULT '[]'")
    con.execute("ALTER TABLE runs ADD COLUMN top1_labels_json VARCHAR")
    _bind_latest_runs(con)


@migration
def m007_build_disk_bytes(con: duckdb.DuckDBPyConnection) -> None:
    """An ONNX variant's build writes the model it runs from to disk: a build cost in bytes."""
    con.execute("ALTER TABLE runs ADD COLUMN build_disk_bytes BIGINT")
    _bind_latest_runs(con)


@migration
def m008_foreign_load(con: duckdb.DuckDBPyConnection) -> None:
    """Foreign load per window and per run; contended runs (clean windows could not be had)
    and labels graded from one anyway (--allow-busy-host)."""
    for column, kind in (
        ("foreign_cpu_cores", "DOUBLE"),
        ("foreign_cpu_share", "DOUBLE"),
        ("foreign_cpu_share_max", "DOUBLE"),
        ("foreign_gpu_processes", "INTEGER"),
        ("foreign_gpu_util_pct", "DOUBLE"),
        ("foreign_load_method", "VARCHAR"),
        ("busy_remeasured", "INTEGER NOT NULL DEFAULT 0"),
        ("contended", "BOOLEAN NOT NULL DEFAULT false"),
        ("busy_host_allowed", "BOOLEAN NOT NULL DEFAULT false"),
        ("cpu_threads", "INTEGER"),
    ):
        con.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    for column, kind in (
        ("foreign_cpu_cores", "DOUBLE"),
        ("foreign_cpu_share", "DOUBLE"),
        ("foreign_gpu_processes", "INTEGER"),
        ("foreign_gpu_util_pct", "DOUBLE"),
    ):
        con.execute(f"ALTER TABLE measurements ADD COLUMN {column} {kind}")
    con.execute("ALTER TABLE labels ADD COLUMN contended BOOLEAN NOT NULL DEFAULT false")
    con.execute("ALTER TABLE labels ADD COLUMN foreign_cpu_cores DOUBLE")
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_labels AS
        SELECT l.model_id, l.revision, l.task, l.hardware, l.grade, l.energy_wh_per_1k,
               l.best_variant, l.best_grade, l.best_energy_wh_per_1k, l.quality_retained,
               l.quality_metric, l.energy_method, l.energy_method = 'estimate' AS estimated,
               l.noisy, l.eei, l.scheme_version, l.measured_at, l.graded_at, l.reason,
               l.recommendations_json, m.source, m.synthetic,
               l.eei_low, l.eei_high, l.borderline, l.reference_model,
               l.reference_config_sha256, l.measured_grade, l.previous_grade,
               l.grade_changed_at, l.energy_j_per_token, l.contended, l.foreign_cpu_cores
        FROM labels l
        LEFT JOIN models m USING (model_id, revision)
        QUALIFY row_number() OVER (
            PARTITION BY l.model_id, l.task, l.hardware
            ORDER BY l.measured_at DESC, l.graded_at DESC, l.scheme_version DESC
        ) = 1
        """
    )
    _bind_latest_runs(con)


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)"
    )
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    done = set(applied_migrations(con))
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            fn(con)
            con.execute(
                "INSERT INTO _migrations VALUES (?, ?)",
                [name, utc_now()],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def unknown_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Migrations recorded in this file that this release does not know, without writing.

    A file migrated by a newer release must not be opened for writing by an older one:
    its tables may have changed in ways this code would misread or damage.
    """
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_migrations' "
        "AND database_name = current_database()"
    ).fetchone()[0]
    if not has_table:
        return []
    known = {name for name, _ in MIGRATIONS}
    recorded = [
        row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
    ]
    return [name for name in recorded if name not in known]
