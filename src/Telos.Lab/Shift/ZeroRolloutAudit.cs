using System.Globalization;
using System.Text;
using Telos.Environments;
using Telos.Lab.Runs;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>The states the audits read: every state of some levels of each distribution (optionally only the possible ones).</summary>
/// <typeparam name="TState">The family's state.</typeparam>
/// <param name="TrainName">The training distribution's name (<c>maze/train</c>), as the report's columns name it.</param>
/// <param name="Train">Its audit levels.</param>
/// <param name="TestName">The shifted distribution's name (<c>maze/test</c>).</param>
/// <param name="Test">Its audit levels.</param>
/// <param name="Include">Which states of a level count (null: every enumerated state), as <see cref="ObjectiveAudits.StateValues"/> takes it.</param>
public sealed record AuditStates<TState>(string TrainName, IReadOnlyList<IEnumerableEnvironment<TState>> Train, string TestName,
    IReadOnlyList<IEnumerableEnvironment<TState>> Test, Func<IEnumerableEnvironment<TState>, TState, bool>? Include = null)
    where TState : struct;

/// <summary>
/// The zero-rollout audits of the objectives one shift cell fitted to the same data, for any environment family, written to the
/// cell's results and report: identifiability of the named features on the training data (and each objective's share of weight
/// on what is not identified), disagreement with the other objectives and — for every gradient-fitted objective, when the
/// ensemble has more than one member — within its own seed ensemble, on the states of each distribution; and the oracle EPIC to
/// the true reward (an oracle: a user has no true reward). Results: <c>objective/ID/audit/identifiability</c>,
/// <c>…/audit/disagreement_train|test</c>, <c>…/audit/ensemble_train|test</c>, <c>…/oracle/epic_train|test</c>,
/// <c>objectives/audit/unidentified_features</c> and <c>objectives/audit/spread_train|test</c>.
/// </summary>
public static class ZeroRolloutAudit
{
    /// <summary>Runs every audit on <paramref name="fitted"/>.</summary>
    /// <param name="results">The cell's results.</param>
    /// <param name="report">The cell's report.md, appended to.</param>
    /// <param name="fitting">How the objectives were fitted: the ensemble's members are refitted the same way.</param>
    /// <param name="data">The training transitions the identifiability audit reads (<see cref="ShiftObjectiveFitting.Data"/>).</param>
    /// <param name="featureNames">The family's named features.</param>
    /// <param name="fitted">The cell's objectives, in order.</param>
    /// <param name="trueReward">The true reward (for the oracle EPIC only).</param>
    /// <param name="states">The audit states.</param>
    /// <param name="ensembleMembers">Members of each seed ensemble, the objective itself included; 1: no ensemble audit.</param>
    /// <param name="memberSeed">The initialization seed of ensemble member k ≥ 1.</param>
    public static void Run<TState>(RunResults results, StringBuilder report, ShiftObjectiveFitting fitting, TransitionSample data, IReadOnlyList<string> featureNames,
        IReadOnlyList<(ShiftObjective Spec, LoadedObjective Objective)> fitted, LoadedObjective trueReward, AuditStates<TState> states,
        int ensembleMembers, Func<int, long> memberSeed)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(fitting);
        ArgumentNullException.ThrowIfNull(fitted);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(memberSeed);
        var audit = FeatureIdentifiability.Audit(data, [.. featureNames]);
        report.Append("## Zero-rollout audit: weights the training data cannot identify\n\n```\n").Append(audit.Describe()).Append("\n```\n\n");
        results.Add("objectives/audit/unidentified_features", audit.Features.Count);
        var valuesTrain = fitted.Select(f => ObjectiveAudits.StateValues(f.Objective, states.Train, states.Include)).ToArray();
        var valuesTest = fitted.Select(f => ObjectiveAudits.StateValues(f.Objective, states.Test, states.Include)).ToArray();
        var trueTrain = ObjectiveAudits.StateValues(trueReward, states.Train, states.Include);
        var trueTest = ObjectiveAudits.StateValues(trueReward, states.Test, states.Include);
        var (train, test) = (states.TrainName, states.TestName);
        var ensembles = ensembleMembers > 1 ? $"seed-ensemble disagreement, {ensembleMembers} members ({train}, {test})" : "seed-ensemble disagreement (off: ensemble_members = 1)";
        report.Append(CultureInfo.InvariantCulture,
            $"## Audits before any rollout\n\n| objective | unidentified weight share | disagreement ({train}) | disagreement ({test}) | {ensembles} | oracle EPIC {train} | oracle EPIC {test} |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (var i = 0; i < fitted.Count; i++)
        {
            var (spec, objective) = fitted[i];
            var id = spec.Id;
            var share = ObjectiveAudits.UnidentifiedWeightShare(objective, audit, data);
            if (share is { } v)
            {
                results.Add($"objective/{id}/audit/identifiability", v);
            }
            var disagreeTrain = ObjectiveAudits.Disagreement(valuesTrain, i);
            var disagreeTest = ObjectiveAudits.Disagreement(valuesTest, i);
            var epicTrain = ObjectiveAudits.Distance(valuesTrain[i], trueTrain);
            var epicTest = ObjectiveAudits.Distance(valuesTest[i], trueTest);
            results.Add($"objective/{id}/audit/disagreement_train", disagreeTrain)
                .Add($"objective/{id}/audit/disagreement_test", disagreeTest)
                .Add($"objective/{id}/oracle/epic_train", epicTrain)
                .Add($"objective/{id}/oracle/epic_test", epicTest);
            var ensembleText = "–";
            // MaxEnt IRL has no random initialization: a refit from another seed is the same card.
            if (ensembleMembers > 1 && spec.Signal != ObjectiveSignal.Demonstrations)
            {
                var (ensembleTrain, ensembleTest) = EnsembleDisagreement(fitting, spec, ensembleMembers, memberSeed, valuesTrain[i], valuesTest[i], states);
                results.Add($"objective/{id}/audit/ensemble_train", ensembleTrain).Add($"objective/{id}/audit/ensemble_test", ensembleTest);
                ensembleText = string.Create(CultureInfo.InvariantCulture, $"{ensembleTrain:F3}, {ensembleTest:F3}");
            }
            var shareText = share is { } x ? x.ToString("F3", CultureInfo.InvariantCulture) : "– (reads the one-hot observation)";
            report.Append(CultureInfo.InvariantCulture,
                $"| {id} | {shareText} | {disagreeTrain:F3} | {disagreeTest:F3} | {ensembleText} | {epicTrain:F3} | {epicTest:F3} |\n");
        }
        results.Add("objectives/audit/spread_train", ObjectiveAudits.Spread(valuesTrain)).Add("objectives/audit/spread_test", ObjectiveAudits.Spread(valuesTest));
        report.Append('\n');
    }

    /// <summary>
    /// The seed-ensemble audit of <paramref name="spec"/>: <paramref name="members"/> − 1 refits of the same form to the same data
    /// (data, pairs and levels from the data seed) with initialization seeds <paramref name="memberSeed"/>(k), beside the cell's own
    /// fit, and their mean pairwise disagreement on the audit states of each distribution (<see cref="ObjectiveAudits.EnsembleDisagreement"/>).
    /// </summary>
    private static (double Train, double Test) EnsembleDisagreement<TState>(ShiftObjectiveFitting fitting, ShiftObjective spec, int members, Func<int, long> memberSeed,
        double[] ownTrain, double[] ownTest, AuditStates<TState> states)
        where TState : struct
    {
        var train = new List<double[]> { ownTrain };
        var test = new List<double[]> { ownTest };
        for (var k = 1; k < members; k++)
        {
            var member = fitting.Fit(spec, memberSeed(k));
            train.Add(ObjectiveAudits.StateValues(member, states.Train, states.Include));
            test.Add(ObjectiveAudits.StateValues(member, states.Test, states.Include));
            member.Module?.Dispose();
        }
        return (ObjectiveAudits.EnsembleDisagreement(train), ObjectiveAudits.EnsembleDisagreement(test));
    }
}
