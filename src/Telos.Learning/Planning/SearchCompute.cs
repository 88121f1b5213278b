namespace Telos.Learning.Planning;

/// <summary>
/// The deterministic compute unit of <see cref="SearchTraining{TState}"/>: <b>network rows</b>, one observation through
/// the network once. Per iteration the searches run E·T·(1 + N) forward rows (each of the T steps one forward pass over
/// the E roots, then one per simulation wave, N waves of at most E rows: <see cref="SearchTraining{TState}.SearchForwardRows"/>
/// counts them), and the U gradient steps of M rows cost <see cref="GradientRowCost"/> rows each (forward and backward,
/// the usual rule that a backward pass costs about two forward passes). The count depends on the settings only, so a
/// budget of rows gives the same number of iterations on every machine and run, where a wall-clock budget would not.
/// </summary>
public static class SearchCompute
{
    /// <summary>Network rows charged per row of a gradient step: its forward pass and a backward pass of about twice that.</summary>
    public const int GradientRowCost = 3;

    /// <summary>The search's forward rows of one iteration at most, E·T·(1 + N) (a wave with fewer rows than roots runs fewer).</summary>
    public static long SearchRowsPerIteration(SearchTrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return (long)settings.BatchSize * (1 + settings.Simulations);
    }

    /// <summary>Network rows of one iteration: the searches' forward rows plus <see cref="GradientRowCost"/> · U · M.</summary>
    public static long RowsPerIteration(SearchTrainingSettings settings) =>
        SearchRowsPerIteration(settings) + ((long)GradientRowCost * settings.UpdatesPerIteration * settings.MinibatchSize);

    /// <summary>Network rows of the whole run, <see cref="RowsPerIteration"/> · iterations.</summary>
    public static long Rows(SearchTrainingSettings settings) => RowsPerIteration(settings) * settings.NumIterations;

    /// <summary>
    /// The equal-compute control: <paramref name="settings"/> with <see cref="SearchTrainingSettings.TotalTimesteps"/> cut to
    /// the whole iterations that fit in the rows the same settings would spend at <paramref name="referenceSimulations"/>
    /// simulations per move (rounded down, so no budget gets more than the reference).
    /// </summary>
    /// <exception cref="TelosInputException">Not one iteration at <paramref name="settings"/>' budget fits in the reference's rows.</exception>
    public static SearchTrainingSettings EqualTo(SearchTrainingSettings settings, int referenceSimulations)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceSimulations, 1);
        var budget = Rows(settings with { Simulations = referenceSimulations });
        var iterations = budget / RowsPerIteration(settings);
        if (iterations < 1)
        {
            throw new TelosInputException($"the compute of {settings.NumIterations} iteration(s) at n = {referenceSimulations} ({budget} network rows) is less than one iteration at n = {settings.Simulations} ({RowsPerIteration(settings)} rows)");
        }
        return settings with { TotalTimesteps = iterations * settings.BatchSize };
    }
}
