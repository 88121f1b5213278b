using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>
/// How a shift experiment fits each <see cref="ShiftObjective"/> to one cell's training data, for any environment family: every
/// signal and form learns from the same seed-drawn levels of <paramref name="Distribution"/> (the feature forms and the linear form
/// over the observation from <paramref name="TrainLevels"/> levels, the net over the observation from the first
/// <paramref name="NetLevels"/> of them — full-batch training on observations through hidden layers is the slow part —,
/// demonstrations from the first <paramref name="DemoLevels"/>). The maze and keys &amp; chests shift experiments share it.
/// </summary>
/// <param name="Distribution">The training distribution (<c>maze/train</c>, <c>kc/train</c>).</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="TrainLevels">Levels of random-walk transitions the feature forms learn from.</param>
/// <param name="StepsPerLevel">Transitions per level.</param>
/// <param name="NetLevels">Of those, the first levels a net over the observation learns from.</param>
/// <param name="FitSteps">Optimizer steps of reward regression and preferences.</param>
/// <param name="Pairs">Labelled segment pairs for preferences.</param>
/// <param name="DemoLevels">Of the levels, the first ones the demonstrations (MaxEnt IRL) come from.</param>
/// <param name="IrlSteps">MaxEnt IRL's gradient steps.</param>
/// <param name="DataSeed">Seeds the data, the pairs and (unless a fit is given its own) the initialization.</param>
/// <param name="FirstLevel">The first level of the seed-drawn run of training levels.</param>
/// <param name="Options">The family's form options per objective: the sparse form's kept features, the monotone form's declared signs, the input.</param>
public sealed record ShiftObjectiveFitting(string Distribution, DistributionParameters Parameters, int TrainLevels, int StepsPerLevel, int NetLevels,
    int FitSteps, int Pairs, int DemoLevels, int IrlSteps, long DataSeed, long FirstLevel, Func<ShiftObjective, FormOptions> Options)
{
    /// <summary>The random-walk transitions of the <see cref="TrainLevels"/> levels (named features only): what the identifiability audit reads.</summary>
    public TransitionSample Data() => ObjectiveData.Sample(Distribution, Parameters, TrainLevels, StepsPerLevel, (ulong)DataSeed, FirstLevel);

    /// <summary>
    /// Fits <paramref name="spec"/>. <paramref name="initSeed"/> seeds the fit alone (null: the data seed), for a seed ensemble: the
    /// same data and pairs, another initialization.
    /// </summary>
    /// <returns>The card, with the module for a network form (the caller disposes it).</returns>
    public LoadedObjective Fit(ShiftObjective spec, long? initSeed = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var demonstrations = spec.Signal == ObjectiveSignal.Demonstrations;
        var levels = spec.Form == ObjectiveForm.Net && spec.ReadsObservation ? Math.Min(NetLevels, TrainLevels)
            : demonstrations ? Math.Min(DemoLevels, TrainLevels)
            : TrainLevels;
        var request = new ObjectiveTrainingRequest(spec.Signal, spec.Form, Distribution, Parameters,
            Levels: levels, SamplesPerLevel: StepsPerLevel, Seed: DataSeed, Steps: demonstrations ? IrlSteps : FitSteps,
            FormOptions: Options(spec), Pairs: Pairs, FirstLevel: FirstLevel, InitSeed: initSeed);
        var (card, module) = ObjectiveTraining.Train(request);
        return card.IsLinear ? LoadedObjective.Of(card) : LoadedObjective.Of(card, module);
    }
}
