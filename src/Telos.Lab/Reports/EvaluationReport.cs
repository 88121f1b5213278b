using System.Globalization;
using Telos.Agents;
using Telos.Lab.Runs;

namespace Telos.Lab.Reports;

/// <summary>
/// The results, bars and table of <see cref="EvaluationSummary"/>s (the one evaluation path's output), so that every
/// experiment reports agents the same way: success and proxy pursuit with their 95 % Wilson intervals, beside the
/// ceilings (the share of levels where each is reachable at all).
/// </summary>
public static class EvaluationReport
{
    /// <summary>
    /// Adds, per summary, <c>DIST/success</c>, <c>DIST/success_ceiling</c>, <c>DIST/proxy</c>, <c>DIST/proxy_ceiling</c>
    /// (rates), <c>DIST/mean_return</c> and <c>DIST/mean_steps</c>, and per family episode count <c>DIST/COUNT/mean</c> and
    /// <c>DIST/COUNT/positive</c> (the rate of episodes where it was above 0); with <paramref name="prefix"/> (an agent's name) before DIST.
    /// </summary>
    public static RunResults AddTo(RunResults results, EvaluationSummary summary, string? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(summary);
        var name = (prefix is null ? "" : prefix + "/") + summary.Distribution + "/";
        results
            .Add(name + "success", summary.Success)
            .Add(name + "success_ceiling", summary.SuccessCeiling)
            .Add(name + "proxy", summary.Proxy)
            .Add(name + "proxy_ceiling", summary.ProxyCeiling)
            .Add(name + "mean_return", summary.MeanReturn)
            .Add(name + "mean_steps", summary.MeanSteps);
        foreach (var count in summary.Counts)
        {
            results.Add(name + count.Name + "/mean", count.Mean).Add(name + count.Name + "/positive", count.Positive);
        }
        return results;
    }

    /// <summary>Success and proxy bars per summary, each with its Wilson interval.</summary>
    public static ReportFigure Bars(string title, IReadOnlyList<EvaluationSummary> summaries, string source)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var bars = new List<IntervalBar>();
        foreach (var s in summaries)
        {
            bars.Add(Bar($"{s.Distribution} success", s.Success));
            bars.Add(Bar($"{s.Distribution} proxy", s.Proxy));
        }
        return Figures.Bars(title, bars, "rate (95 % Wilson CI over levels)", source);
    }

    /// <summary>A row per summary: agent, kind, distribution, success and proxy with intervals and ceilings, mean return and steps.</summary>
    public static ReportTable Table(string caption, IReadOnlyList<EvaluationSummary> summaries, string source)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        return new ReportTable(caption,
            ["agent", "kind", "distribution", "success", "success reachable", "proxy", "proxy reachable", "mean return", "mean steps"],
            summaries.Select(s => (IReadOnlyList<string>)
            [
                s.Agent, s.Kind.ToString(), s.Distribution, RateText(s.Success), RateText(s.SuccessCeiling), RateText(s.Proxy), RateText(s.ProxyCeiling),
                s.MeanReturn.ToString("G4", CultureInfo.InvariantCulture), s.MeanSteps.ToString("G4", CultureInfo.InvariantCulture),
            ]).ToList(),
            source);
    }

    /// <summary>A rate as <c>0.450 (90/200; 95 % CI [0.382, 0.520])</c>.</summary>
    public static string RateText(Rate rate) =>
        string.Create(CultureInfo.InvariantCulture, $"{rate.Value:F3} ({rate}; 95 % CI [{rate.Interval.Low:F3}, {rate.Interval.High:F3}])");

    private static IntervalBar Bar(string label, Rate rate) => new(label, rate.Value, rate.Interval.Low, rate.Interval.High);
}
