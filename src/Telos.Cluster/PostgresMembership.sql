-- Telos's schema for Orleans' ADO.NET clustering on PostgreSQL (invariant "Npgsql").
-- Orleans reads its statements from OrleansQuery (key -> SQL with @Parameters) and reads the columns of their
-- results by name; everything else here is Telos's own. Safe to run again: it changes nothing that exists.
-- Counting statements return one integer: > 0 done, 0 refused (e.g. the table version moved on).

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64)   PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

CREATE TABLE IF NOT EXISTS telos_membership_version (
    deployment_id varchar(150) PRIMARY KEY,
    version       integer      NOT NULL DEFAULT 0,
    changed       timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS telos_membership (
    deployment_id  varchar(150)  NOT NULL REFERENCES telos_membership_version (deployment_id),
    address        varchar(45)   NOT NULL,
    port           integer       NOT NULL,
    generation     integer       NOT NULL,
    silo_name      varchar(150)  NOT NULL,
    host_name      varchar(150)  NOT NULL,
    status         integer       NOT NULL,
    proxy_port     integer,
    suspect_times  varchar(8000),
    start_time     timestamptz   NOT NULL,
    i_am_alive     timestamptz   NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('InsertMembershipVersionKey', '
WITH added AS (
    INSERT INTO telos_membership_version (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM added;'),

-- A silo's row goes in only together with a step of the table version it read.
('InsertMembershipKey', '
WITH stepped AS (
    UPDATE telos_membership_version SET version = version + 1, changed = now()
    WHERE deployment_id = @DeploymentId AND version = @Version
      AND NOT EXISTS (SELECT 1 FROM telos_membership
                      WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
added AS (
    INSERT INTO telos_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime FROM stepped
    RETURNING 1)
SELECT count(*)::integer FROM added;'),

('UpdateMembershipKey', '
WITH stepped AS (
    UPDATE telos_membership_version SET version = version + 1, changed = now()
    WHERE deployment_id = @DeploymentId AND version = @Version
    RETURNING deployment_id),
changed AS (
    UPDATE telos_membership m SET status = @Status, suspect_times = @SuspectTimes, i_am_alive = @IAmAliveTime
    FROM stepped
    WHERE m.deployment_id = stepped.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT count(*)::integer FROM changed;'),

('UpdateIAmAlivetimeKey', '
UPDATE telos_membership SET i_am_alive = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;'),

-- The version row comes back even when no silo row matches (then the silo columns are null).
('MembershipReadRowKey', '
SELECT v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive AS "IAmAliveTime", v.version AS "Version"
FROM telos_membership_version v
LEFT JOIN telos_membership m
       ON m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId;'),

('MembershipReadAllKey', '
SELECT v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive AS "IAmAliveTime", v.version AS "Version"
FROM telos_membership_version v
LEFT JOIN telos_membership m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;'),

('GatewaysQueryKey', '
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM telos_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;'),

('DeleteMembershipTableEntriesKey', '
DELETE FROM telos_membership WHERE deployment_id = @DeploymentId;
DELETE FROM telos_membership_version WHERE deployment_id = @DeploymentId;'),

-- Status 3 is Active: a silo that stopped refreshing its row but is still listed active is left to the protocol.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM telos_membership
WHERE deployment_id = @DeploymentId AND i_am_alive < @IAmAliveTime AND status <> 3;'),

('CleanupDefunctSiloEntryKey', '
DELETE FROM telos_membership
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;')

ON CONFLICT (QueryKey) DO NOTHING;
