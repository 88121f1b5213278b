using Telos.Lab.Reports;

namespace Telos.Lab.Sweeps;

/// <summary>
/// What an experiment computes across the cells of its sweep, beyond the per-result tables: an
/// <see cref="Experiments.IExperiment"/> that implements it gets, after every sweep of it has merged its
/// cells, a section of its own at the end of <c>tables.md</c> and figures at the top of <c>report.html</c>
/// (the <c>maze-shift</c> experiment's AUC over objectives and seeds, its bars and retargeting maps).
/// Both must depend only on the tables given (the cells' results in cell order), never on time or
/// on the order cells finished, so that a resumed sweep writes the same bytes as an uninterrupted one.
/// </summary>
public interface ISweepAnalysis
{
    /// <summary>Markdown appended to <c>tables.md</c> and <c>report.md</c> (empty: nothing).</summary>
    string Markdown(SweepTables tables);

    /// <summary>Adds headings, paragraphs, figures and tables to the top of the sweep's <c>report.html</c>.</summary>
    void AddTo(HtmlReport report, SweepTables tables);
}
