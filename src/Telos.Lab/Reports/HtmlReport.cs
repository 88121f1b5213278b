using System.Net;
using System.Text;

namespace Telos.Lab.Reports;

/// <summary>A figure for a report: an inline SVG made by <see cref="Figures"/>, with the run and file it came from.</summary>
/// <param name="Title">What it shows.</param>
/// <param name="Source">Where its numbers came from: the run and file (<c>run ppo-…: metrics.csv</c>).</param>
/// <param name="Svg">The SVG element (no XML declaration), with width and height attributes.</param>
public sealed record ReportFigure(string Title, string Source, string Svg);

/// <summary>A table for a report.</summary>
/// <param name="Caption">What it shows.</param>
/// <param name="Headers">Column names.</param>
/// <param name="Rows">Cells, as text, one list per row (as many as <paramref name="Headers"/>).</param>
/// <param name="Source">Where its numbers came from (run and file).</param>
public sealed record ReportTable(string Caption, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows, string Source);

/// <summary>
/// One offline HTML page: headings, paragraphs, tables and figures, in the order added. Everything is
/// inline (styles, SVG figures): the page loads no script, style sheet, font or image from anywhere, so it
/// opens from disk on a machine without network. Every figure is a <c>&lt;figure class="telos-figure"&gt;</c>
/// whose caption names its source; every table a <c>&lt;table class="telos-table"&gt;</c>.
/// </summary>
/// <remarks>The experiment decides the content from its data; this class only lays it out. Not thread-safe.</remarks>
public sealed class HtmlReport
{
    private const string Style = """
        body { font-family: "DejaVu Sans", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
        figure.telos-figure { margin: 1.2em 0; }
        figure.telos-figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
        div.telos-row { display: flex; flex-wrap: wrap; gap: 0.8em; align-items: flex-start; }
        div.telos-row figure.telos-figure { flex: 0 0 350px; max-width: 100%; margin: 0.4em 0; }
        div.telos-row figure.telos-figure svg { width: 100%; }
        figcaption { font-size: 0.9em; color: #444; } figcaption .source { color: #777; font-family: monospace; }
        table.telos-table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
        table.telos-table th, table.telos-table td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
        table.telos-table caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
        table.telos-table caption .source { font-weight: normal; color: #777; font-family: monospace; }
        """;

    private readonly StringBuilder _body = new();
    private int _figures;

    /// <param name="title">The page title and first heading.</param>
    public HtmlReport(string title)
    {
        ArgumentNullException.ThrowIfNull(title);
        Title = title;
    }

    public string Title { get; }

    /// <summary>Figures added so far.</summary>
    public int FigureCount => _figures;

    /// <summary>Adds a section heading.</summary>
    public HtmlReport Heading(string text)
    {
        _body.Append("<h2>").Append(Encode(text)).Append("</h2>\n");
        return this;
    }

    /// <summary>Adds a paragraph of plain text (escaped; <c>`code`</c> spans become <c>&lt;code&gt;</c>).</summary>
    public HtmlReport Paragraph(string text)
    {
        var parts = Encode(text).Split('`');
        _body.Append("<p>");
        for (var i = 0; i < parts.Length; i++)
        {
            _body.Append(i % 2 == 1 && i < parts.Length - 1 ? "<code>" + parts[i] + "</code>" : parts[i]);
        }
        _body.Append("</p>\n");
        return this;
    }

    /// <summary>Adds a figure with its caption and source.</summary>
    public HtmlReport Figure(ReportFigure figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        _figures++;
        _body.Append("<figure class=\"telos-figure\" data-source=\"").Append(Encode(figure.Source)).Append("\">\n")
            .Append(figure.Svg).Append('\n')
            .Append("<figcaption>").Append(Encode(figure.Title)).Append(" <span class=\"source\">— source: ").Append(Encode(figure.Source)).Append("</span></figcaption>\n")
            .Append("</figure>\n");
        return this;
    }

    /// <summary>Adds figures side by side (wrapping on a narrow page), each with its caption and source; nothing for an empty list.</summary>
    public HtmlReport FigureRow(IReadOnlyList<ReportFigure> figures)
    {
        ArgumentNullException.ThrowIfNull(figures);
        if (figures.Count == 0)
        {
            return this;
        }
        _body.Append("<div class=\"telos-row\">\n");
        foreach (var figure in figures)
        {
            Figure(figure);
        }
        _body.Append("</div>\n");
        return this;
    }

    /// <summary>Adds a table with its caption and source.</summary>
    /// <exception cref="ArgumentException">A row has a different number of cells than there are headers.</exception>
    public HtmlReport Table(ReportTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _body.Append("<table class=\"telos-table\" data-source=\"").Append(Encode(table.Source)).Append("\">\n<caption>")
            .Append(Encode(table.Caption)).Append(" <span class=\"source\">— source: ").Append(Encode(table.Source)).Append("</span></caption>\n<tr>");
        foreach (var header in table.Headers)
        {
            _body.Append("<th>").Append(Encode(header)).Append("</th>");
        }
        _body.Append("</tr>\n");
        foreach (var row in table.Rows)
        {
            if (row.Count != table.Headers.Count)
            {
                throw new ArgumentException($"table '{table.Caption}': a row has {row.Count} cells for {table.Headers.Count} headers", nameof(table));
            }
            _body.Append("<tr>");
            foreach (var cell in row)
            {
                _body.Append("<td>").Append(Encode(cell)).Append("</td>");
            }
            _body.Append("</tr>\n");
        }
        _body.Append("</table>\n");
        return this;
    }

    /// <summary>The whole page.</summary>
    public string ToHtml() =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + Encode(Title) + "</title>\n<style>\n" + Style + "\n</style>\n</head>\n<body>\n<h1>"
        + Encode(Title) + "</h1>\n" + _body + "</body>\n</html>\n";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
