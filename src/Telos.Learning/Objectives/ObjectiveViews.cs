using Telos.Environments;
using Telos.Objectives;

namespace Telos.Learning.Objectives;

/// <summary>Reading an objective on a level of any registered family: its heatmap, its per-feature contributions at a cell.</summary>
public static class ObjectiveViews
{
    /// <summary>The objective's value over every cell of level <paramref name="seed"/> of <paramref name="distribution"/>.</summary>
    /// <exception cref="TelosInputException">The family's states do not stand on cells, bad parameters, or an objective that does not fit the family.</exception>
    public static CellHeatmap Heatmap(LoadedObjective objective, string distribution, DistributionParameters parameters, long seed, int cellPixels = 16)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return EnvironmentFamilies.Run(distribution, new HeatmapOperation(objective, distribution, parameters, seed, cellPixels));
    }

    /// <summary>Each feature's weight × value in the state on cell (x, y) of the level: what a linear card adds up there.</summary>
    /// <exception cref="TelosInputException">The family has no cells, the cell is outside or a wall, or the card reads features the family lacks.</exception>
    public static IReadOnlyList<FeatureContribution> ContributionsAt(LoadedObjective objective, string distribution, DistributionParameters parameters, long seed, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return EnvironmentFamilies.Run(distribution, new ContributionOperation(objective, distribution, parameters, seed, x, y));
    }

    private sealed record HeatmapOperation(LoadedObjective Objective, string Distribution, DistributionParameters Parameters, long Seed, int CellPixels) : IFamilyOperation<CellHeatmap>
    {
        public CellHeatmap Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var grid = family.Cells ?? throw new TelosInputException($"{Distribution}: {family.Name} states do not stand on cells, so there is no heatmap to draw");
            var level = family.Distribution(Distribution, Parameters).Level(Seed);
            return ObjectiveHeatmap.Cells(grid, level, Objective.Evaluator(level), CellPixels);
        }
    }

    private sealed record ContributionOperation(LoadedObjective Objective, string Distribution, DistributionParameters Parameters, long Seed, int X, int Y)
        : IFamilyOperation<IReadOnlyList<FeatureContribution>>
    {
        public IReadOnlyList<FeatureContribution> Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var level = family.Distribution(Distribution, Parameters).Level(Seed);
            var card = Objective.Card;
            ObjectiveCardFile.RequireFeatures(card, level.Features, level.Name, Objective.Source);
            var state = ObjectiveTraining.StateAt(family, level, X, Y, "--cell");
            return card.Contributions(ObjectiveTrainer.Rows(level, card.Features, [state]));
        }
    }
}
