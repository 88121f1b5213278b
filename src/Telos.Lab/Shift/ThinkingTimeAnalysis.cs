using System.Globalization;
using Telos.Environments;
using Telos.Lab.Reports;
using Telos.Lab.Signatures;

namespace Telos.Lab.Shift;

/// <summary>
/// Success against thinking time, for the policies of a <c>maze-shift</c> cell (issue's signature of learned planning):
/// the policy's greedy lanes with K ∈ <see cref="PlanningSignatures.DefaultThinkingSteps"/> extra recurrent steps on each
/// episode's first observation, on the cell's own maze/train and maze/test levels and evaluation seed, through the one
/// evaluation path (<see cref="PlanningSignatures.ThinkingCurve"/>). K = 0 is the cell's own measurement of the policy.
/// </summary>
/// <remarks>Results: <c>analysis/thinking/AGENT/kK/DIST/…</c> (<see cref="EvaluationReport.AddTo"/>'s names). A feed-forward
/// policy has no recurrent state to think with; it is skipped.</remarks>
public sealed class ThinkingTimeAnalysis : IShiftAnalysis
{
    /// <inheritdoc/>
    public string Name => "thinking";

    /// <summary>The prefix of an agent's results at <paramref name="thinkingSteps"/>.</summary>
    public static string Prefix(string agent, int thinkingSteps) =>
        string.Create(CultureInfo.InvariantCulture, $"analysis/thinking/{agent}/k{thinkingSteps}");

    /// <inheritdoc/>
    public bool AppliesTo(ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Policy is { StateSize: > 0 };
    }

    /// <inheritdoc/>
    public void Run(ShiftAnalysisContext context, ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(agent);
        foreach (var row in PlanningSignatures.ThinkingCurve(MazeFamily.Instance, agent.Name, agent.Policy!, context.Levels, PlanningSignatures.DefaultThinkingSteps))
        {
            EvaluationReport.AddTo(context.Results, row.Summary, Prefix(agent.Name, row.ThinkingSteps));
        }
    }
}
