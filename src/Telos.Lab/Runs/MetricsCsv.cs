using System.Globalization;
using System.Text;
using Telos.IO;

namespace Telos.Lab.Runs;

/// <summary>One row of <c>metrics.csv</c>: the step and the values logged at it (absent columns are missing).</summary>
public sealed record MetricsRow(long Step, IReadOnlyDictionary<string, double> Values);

/// <summary>
/// <c>metrics.csv</c>: first column <c>step</c>, then one column per metric name in first-logged order.
/// The header grows: a new metric name rewrites the file atomically with the wider header (earlier rows
/// get empty cells). Rows are appended as one write of a whole line and flushed; a row counts only when
/// its newline is on disk, so readers drop an unterminated last line and reopening repairs it.
/// </summary>
internal sealed class MetricsCsv : IDisposable
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly string _path;
    private readonly List<string> _columns = [];
    private FileStream? _append;

    public MetricsCsv(string path)
    {
        _path = path;
        var (columns, rows, clean) = ReadFile(path);
        _columns.AddRange(columns);
        if (!clean)
        {
            Rewrite(rows);
        }
    }

    public IReadOnlyList<string> Columns => _columns;

    public void Append(long step, IReadOnlyDictionary<string, double> values)
    {
        foreach (var key in values.Keys)
        {
            if (key.Length == 0 || key == "step" || key.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                throw new ArgumentException($"metric name '{key}' must be non-empty, not 'step', and free of commas, quotes and newlines", nameof(values));
            }
        }
        var added = values.Keys.Where(k => !_columns.Contains(k)).ToList();
        if (added.Count > 0 || !File.Exists(_path))
        {
            var rows = ReadFile(_path).Rows;
            _columns.AddRange(added);
            Rewrite(rows);
        }
        var line = new StringBuilder();
        line.Append(step.ToString(CultureInfo.InvariantCulture));
        foreach (var column in _columns)
        {
            line.Append(',');
            if (values.TryGetValue(column, out var value))
            {
                line.Append(value.ToString("R", CultureInfo.InvariantCulture));
            }
        }
        line.Append('\n');
        var stream = _append ??= new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Utf8.GetBytes(line.ToString()));
        stream.Flush();
    }

    /// <summary>Drops rows with step greater than <paramref name="step"/> (resume from a checkpoint at that step).</summary>
    public void TruncateAfter(long step)
    {
        var rows = ReadFile(_path).Rows;
        Rewrite(rows.Where(r => r.Step <= step).ToList());
    }

    public void Dispose()
    {
        _append?.Dispose();
        _append = null;
    }

    /// <summary>Reads a metrics file; a missing file has no columns and no rows.</summary>
    public static (List<string> Columns, List<MetricsRow> Rows, bool Clean) ReadFile(string path)
    {
        var columns = new List<string>();
        var rows = new List<MetricsRow>();
        if (!File.Exists(path))
        {
            return (columns, rows, true);
        }
        string text;
        try
        {
            text = File.ReadAllText(path, Utf8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TelosInputException($"{path}: cannot read metrics: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        var clean = text.Length == 0 || text.EndsWith('\n');
        var lines = text.Split('\n');
        // The last element is "" for a terminated file, or a torn line to drop.
        var complete = lines.Length - 1;
        if (complete == 0)
        {
            return (columns, rows, clean);
        }
        var header = lines[0].Split(',');
        if (header[0] != "step")
        {
            throw new TelosInputException($"{path}:1: not a metrics file (first column must be 'step')");
        }
        columns.AddRange(header.Skip(1));
        for (var i = 1; i < complete; i++)
        {
            var cells = lines[i].Split(',');
            if (!long.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step))
            {
                throw new TelosInputException($"{path}:{i + 1}: step '{cells[0]}' is not an integer");
            }
            if (cells.Length > columns.Count + 1)
            {
                throw new TelosInputException($"{path}:{i + 1}: {cells.Length} cells, but the header has {columns.Count + 1} columns");
            }
            var values = new Dictionary<string, double>();
            for (var c = 1; c < cells.Length; c++)
            {
                if (cells[c].Length == 0)
                {
                    continue;
                }
                if (!double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    throw new TelosInputException($"{path}:{i + 1}: column '{columns[c - 1]}': '{cells[c]}' is not a number");
                }
                values[columns[c - 1]] = v;
            }
            rows.Add(new MetricsRow(step, values));
        }
        return (columns, rows, clean);
    }

    private void Rewrite(List<MetricsRow> rows)
    {
        _append?.Dispose();
        _append = null;
        var text = new StringBuilder();
        text.Append("step");
        foreach (var column in _columns)
        {
            text.Append(',').Append(column);
        }
        text.Append('\n');
        foreach (var row in rows)
        {
            text.Append(row.Step.ToString(CultureInfo.InvariantCulture));
            foreach (var column in _columns)
            {
                text.Append(',');
                if (row.Values.TryGetValue(column, out var value))
                {
                    text.Append(value.ToString("R", CultureInfo.InvariantCulture));
                }
            }
            text.Append('\n');
        }
        AtomicFile.WriteAllText(_path, text.ToString());
    }
}
