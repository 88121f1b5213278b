using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Telos.Lab.Runs;

/// <summary>
/// The SQLite index of runs (<c>runs.db</c> in the store root, WAL journal). Each change is one
/// statement in its own transaction, so a kill leaves either the old row or the new one.
/// </summary>
internal sealed class RunIndex : IRunStatusStore
{
    private const int SchemaVersion = 1;
    private readonly string _connectionString;

    public RunIndex(string databasePath)
    {
        DatabasePath = databasePath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Pooled connections would keep the file open after the store is dropped (tests delete it).
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DatabasePath { get; }

    public static string StatusName(RunStatus status) => status.ToString().ToLowerInvariant();

    public void EnsureCreated()
    {
        try
        {
            CreateSchema();
        }
        catch (SqliteException e)
        {
            throw Unusable(e);
        }
    }

    private void CreateSchema()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS runs (
                id          TEXT PRIMARY KEY,
                short_id    TEXT NOT NULL UNIQUE,
                name        TEXT NOT NULL,
                kind        TEXT NOT NULL,
                status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
                config_hash TEXT NOT NULL,
                seed        INTEGER NOT NULL,
                git_commit  TEXT NOT NULL,
                started_utc TEXT NOT NULL,
                ended_utc   TEXT,
                dir         TEXT NOT NULL,
                pid         INTEGER NOT NULL,
                message     TEXT
            );
            CREATE INDEX IF NOT EXISTS runs_started ON runs (started_utc);
            PRAGMA user_version = {SchemaVersion};
            """;
        command.ExecuteNonQuery();
    }

    public void Insert(RunRecord run, string relativeDir)
    {
        Execute(
            """
            INSERT INTO runs (id, short_id, name, kind, status, config_hash, seed, git_commit, started_utc, ended_utc, dir, pid, message)
            VALUES ($id, $short, $name, $kind, $status, $hash, $seed, $git, $started, NULL, $dir, $pid, NULL)
            """,
            ("$id", run.Id),
            ("$short", run.ShortId),
            ("$name", run.Name),
            ("$kind", run.Kind),
            ("$status", StatusName(run.Status)),
            ("$hash", run.ConfigHash),
            ("$seed", run.Seed),
            ("$git", run.GitCommit),
            ("$started", Format(run.StartedUtc)),
            ("$dir", relativeDir),
            ("$pid", run.Pid));
    }

    public void SetStatus(string id, RunStatus status, DateTimeOffset? ended, string? message, int pid)
    {
        Execute(
            "UPDATE runs SET status = $status, ended_utc = $ended, message = $message, pid = $pid WHERE id = $id",
            ("$id", id),
            ("$status", StatusName(status)),
            ("$ended", ended is { } e ? Format(e) : DBNull.Value),
            ("$message", (object?)message ?? DBNull.Value),
            ("$pid", pid));
    }

    /// <summary>All runs, oldest first; directories resolved against <paramref name="root"/>.</summary>
    public List<RunRecord> All(string root) => Query(root, "SELECT * FROM runs ORDER BY started_utc, id");

    /// <summary>Runs whose id or short id starts with <paramref name="prefix"/>.</summary>
    public List<RunRecord> FindByPrefix(string root, string prefix) =>
        Query(
            root,
            "SELECT * FROM runs WHERE id = $exact OR substr(id, 1, length($exact)) = $exact OR substr(short_id, 1, length($exact)) = $exact ORDER BY started_utc, id",
            ("$exact", prefix));

    private List<RunRecord> Query(string root, string sql, params (string Name, object Value)[] parameters)
    {
        try
        {
            return QueryUnguarded(root, sql, parameters);
        }
        catch (SqliteException e)
        {
            throw Unusable(e);
        }
    }

    private List<RunRecord> QueryUnguarded(string root, string sql, (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        using var reader = command.ExecuteReader();
        var rows = new List<RunRecord>();
        while (reader.Read())
        {
            rows.Add(new RunRecord(
                Id: reader.GetString(reader.GetOrdinal("id")),
                ShortId: reader.GetString(reader.GetOrdinal("short_id")),
                Name: reader.GetString(reader.GetOrdinal("name")),
                Kind: reader.GetString(reader.GetOrdinal("kind")),
                Status: Enum.Parse<RunStatus>(reader.GetString(reader.GetOrdinal("status")), ignoreCase: true),
                ConfigHash: reader.GetString(reader.GetOrdinal("config_hash")),
                Seed: reader.GetInt64(reader.GetOrdinal("seed")),
                GitCommit: reader.GetString(reader.GetOrdinal("git_commit")),
                StartedUtc: Parse(reader.GetString(reader.GetOrdinal("started_utc"))),
                EndedUtc: reader.IsDBNull(reader.GetOrdinal("ended_utc")) ? null : Parse(reader.GetString(reader.GetOrdinal("ended_utc"))),
                Directory: Path.GetFullPath(Path.Combine(root, reader.GetString(reader.GetOrdinal("dir")))),
                Pid: reader.GetInt32(reader.GetOrdinal("pid")),
                Message: reader.IsDBNull(reader.GetOrdinal("message")) ? null : reader.GetString(reader.GetOrdinal("message"))));
        }
        return rows;
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        try
        {
            ExecuteUnguarded(sql, parameters);
        }
        catch (SqliteException e)
        {
            throw Unusable(e);
        }
    }

    private TelosInputException Unusable(SqliteException e) =>
        new($"{DatabasePath}: run index unusable: {e.Message.ReplaceLineEndings(" ")}", e);

    private void ExecuteUnguarded(string sql, (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new TelosInputException($"{DatabasePath}: cannot open the run index: {e.Message}", e);
        }
        return connection;
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
