using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Planning;

namespace Telos.Learning.Planning;

/// <summary>What <c>telos plan</c> asks for: one level, one objective, one planner.</summary>
/// <param name="Distribution">A registered distribution.</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="LevelSeed">The level.</param>
/// <param name="Objective">A reference objective of the family (<c>true</c>, a proxy) or a card file.</param>
/// <param name="Planner">A planner name (<see cref="Planners.Names"/>).</param>
/// <param name="Budget">The search budget; its seed is the evaluation seed of the episode.</param>
public sealed record LevelPlanRequest(string Distribution, DistributionParameters Parameters, long LevelSeed, string Objective, string Planner, PlanBudget Budget);

/// <summary>What a hard-coded agent did on one level, and why.</summary>
/// <param name="Level">The level's provenance.</param>
/// <param name="Agent">The agent's name.</param>
/// <param name="ObjectiveLabel">The objective's label.</param>
/// <param name="Record">The episode as the evaluation path judged it.</param>
/// <param name="GoalName">The family's true goal (what <see cref="EpisodeRecord.Success"/> means).</param>
/// <param name="ProxyName">The family's proxy goal, or null.</param>
/// <param name="Actions">Action names, [T].</param>
/// <param name="Cells">(x, y) of every visited state, [T+1], when the family has cells.</param>
/// <param name="Ascii">The level with the path drawn over it.</param>
/// <param name="Trace">The path explained in the objective's terms.</param>
/// <param name="Decisions">Planner calls.</param>
/// <param name="FirstTree">The search tree of the first decision (the one that chose the first action), when trees were kept; null for planners without one.</param>
public sealed record LevelPlanResult(string Level, string Agent, string ObjectiveLabel, EpisodeRecord Record, string GoalName, string? ProxyName, IReadOnlyList<string> Actions,
    IReadOnlyList<(int X, int Y)>? Cells, string Ascii, PlanTrace Trace, int Decisions, SearchTreeSnapshot? FirstTree);

/// <summary>A hard-coded agent on one level through the one evaluation path (<see cref="AgentEvaluation"/>), for <c>telos plan</c>.</summary>
public static class LevelPlans
{
    /// <summary>Plans through the level; with <paramref name="keepTree"/>, the first decision keeps its search tree.</summary>
    /// <exception cref="TelosInputException">Unknown distribution, planner or objective; bad parameters or budget; an objective that does not fit the family.</exception>
    public static LevelPlanResult Plan(LevelPlanRequest request, bool keepTree = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        return EnvironmentFamilies.Run(request.Distribution, new PlanOperation(request, null, keepTree));
    }

    /// <summary>
    /// Plans with an objective held in memory (an edited card); <see cref="LevelPlanRequest.Objective"/> is then only its label.
    /// </summary>
    /// <exception cref="TelosInputException">Unknown distribution or planner; bad parameters or budget; an objective that does not fit the family.</exception>
    public static LevelPlanResult Plan(LevelPlanRequest request, LoadedObjective objective, bool keepTree = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(objective);
        return EnvironmentFamilies.Run(request.Distribution, new PlanOperation(request, objective, keepTree));
    }

    private sealed record PlanOperation(LevelPlanRequest Request, LoadedObjective? Loaded, bool KeepTree) : IFamilyOperation<LevelPlanResult>
    {
        public LevelPlanResult Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            // Everything that can be refused is checked before anything is computed.
            var planner = Planners.Create(Request.Planner, family);
            Request.Budget.Validate();
            var level = family.Distribution(Request.Distribution, Request.Parameters).Level(Request.LevelSeed);
            // The agent binds the objective to the level at Reset, before its first decision: a card that does not fit is refused there.
            var objective = Loaded is null ? ObjectiveSources.Resolve(Request.Objective, family) : Loaded.ForAgent<TState>(Request.Objective);
            var agent = new PlanningAgent<TState>(planner, objective, Request.Budget with { KeepTree = KeepTree });
            var result = AgentEvaluation.Evaluate(agent, family, Request.Distribution, Request.Parameters, [Request.LevelSeed], Request.Budget.Seed,
                new EvaluationOptions(KeepEpisodes: true));
            var episode = result.Episodes![0];
            string Name(int action) => action >= 0 && action < family.ActionNames.Count ? family.ActionNames[action] : "halt";
            var cells = family.Cells is { } grid ? episode.States.Select(s => grid.CellOf(level, s)).ToArray() : null;
            var first = agent.Decisions.Count > 0 ? agent.Decisions[0] : null;
            var tree = KeepTree ? first?.Tree ?? new SearchTreeSnapshot(planner.Name, level.ActionCount, []) : null;
            return new LevelPlanResult(level.Provenance ?? $"{Request.Distribution} seed={Request.LevelSeed}", agent.Name, objective.Label, result.Records[0],
                family.Goals[0].Name, family.Goals.Count > 1 ? family.Goals[1].Name : null, [.. episode.Actions.Select(Name)], cells,
                family.RenderPath(level, episode.States), agent.Explain(level, episode.States, episode.Actions, Name), agent.Decisions.Count, tree);
        }
    }
}
