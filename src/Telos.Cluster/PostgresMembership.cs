using Npgsql;

namespace Telos.Cluster;

/// <summary>The PostgreSQL schema of <see cref="Membership.Postgres"/>: Orleans' ADO.NET clustering tables and statements (<c>PostgresMembership.sql</c>).</summary>
public static class PostgresMembership
{
    /// <summary>The schema, as SQL (what <see cref="CreateSchema"/> runs; a database administrator may run it by hand).</summary>
    public static string Sql { get; } = ReadSql();

    /// <summary>Creates the tables and statements the membership needs, leaving what exists alone.</summary>
    /// <exception cref="TelosInputException">The database cannot be reached or refused the schema: names the config file.</exception>
    public static void CreateSchema(ClusterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Membership != Membership.Postgres)
        {
            throw new TelosInputException($"{config.SourcePath}: membership is \"localhost\"; only membership = \"postgres\" has a database schema");
        }
        try
        {
            using var connection = new NpgsqlConnection(config.PostgresConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand(Sql, connection);
            command.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException)
        {
            throw new TelosInputException($"{config.SourcePath}: key 'postgres': cannot create the membership schema: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    private static string ReadSql()
    {
        using var stream = typeof(PostgresMembership).Assembly.GetManifestResourceStream("Telos.Cluster.PostgresMembership.sql")
            ?? throw new InvalidOperationException("PostgresMembership.sql is not embedded in Telos.Cluster");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
