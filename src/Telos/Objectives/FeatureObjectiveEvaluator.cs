using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// What planners consume: an environment's features fed to a compiled objective, as an
/// <see cref="IStateEvaluator{TState}"/>. The objective's features are bound to the environment's
/// columns by name once, at construction; a missing feature is refused there, not at search time.
/// </summary>
/// <remarks>
/// Not thread-safe: evaluation reuses one feature buffer (grown to the largest batch
/// seen), so after warm-up it allocates nothing. Use one evaluator per search thread.
/// </remarks>
public sealed class FeatureObjectiveEvaluator<TState> : IStateEvaluator<TState>
    where TState : struct
{
    private readonly IEnvironment<TState> _environment;
    private readonly int[]? _columns;
    private readonly double[] _envRow;
    private double[] _features = [];

    /// <exception cref="TelosInputException">The objective reads a feature the environment does not write.</exception>
    public FeatureObjectiveEvaluator(IEnvironment<TState> environment, ICompiledObjective objective)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(objective);
        _environment = environment;
        Objective = objective;
        _columns = FeatureBinding.Columns(objective.Features, environment.Features, environment.Name);
        _envRow = new double[environment.Features.Count];
    }

    /// <summary>The compiled objective.</summary>
    public ICompiledObjective Objective { get; }

    /// <summary>V(s) for each state: features are written for the batch, then one batched evaluation.</summary>
    public void Evaluate(ReadOnlySpan<TState> states, Span<double> values)
    {
        if (states.Length != values.Length)
        {
            throw new ArgumentException($"{states.Length} states but {values.Length} values", nameof(values));
        }
        var f = Objective.Features.Count;
        var needed = states.Length * f;
        if (_features.Length < needed)
        {
            _features = new double[Math.Max(needed, _features.Length * 2)];
        }
        var features = _features.AsSpan(0, needed);
        for (var i = 0; i < states.Length; i++)
        {
            var row = features.Slice(i * f, f);
            if (_columns is null)
            {
                _environment.WriteFeatures(states[i], row);
            }
            else
            {
                _environment.WriteFeatures(states[i], _envRow);
                for (var k = 0; k < f; k++)
                {
                    row[k] = _envRow[_columns[k]];
                }
            }
        }
        Objective.Evaluate(features, values);
    }

    /// <summary>V of one state (allocation-free after warm-up).</summary>
    public double Evaluate(in TState state)
    {
        Span<double> value = stackalloc double[1];
        Evaluate(new ReadOnlySpan<TState>(in state), value);
        return value[0];
    }
}

/// <summary>Binds an objective's feature names to an environment's columns.</summary>
public static class FeatureBinding
{
    /// <summary>
    /// Column map objective-column → environment-column, or null when the schemas are identical.
    /// </summary>
    /// <exception cref="TelosInputException">Some objective features are not written by the environment; the message names them.</exception>
    public static int[]? Columns(FeatureSchema objective, FeatureSchema environment, string environmentName)
    {
        if (objective.Equals(environment))
        {
            return null;
        }
        var missing = objective.Names.Where(n => environment.IndexOf(n) < 0).ToArray();
        if (missing.Length > 0)
        {
            throw new TelosInputException(
                $"objective features do not match environment '{environmentName}': it has no feature(s) {string.Join(", ", missing)}; it has {string.Join(", ", environment.Names)}");
        }
        return objective.Names.Select(environment.IndexOf).ToArray();
    }

    /// <summary>
    /// <paramref name="reward"/> reading its columns out of rows laid out as <paramref name="rows"/>
    /// (the same object when the schemas are identical).
    /// </summary>
    /// <exception cref="TelosInputException">The reward reads a feature the rows do not have.</exception>
    /// <remarks>
    /// Arrival and shaped rewards stay arrival and shaped rewards (their state objectives read the
    /// columns), so EPIC keeps its O(N + M) path for a card over fewer features than the sample.
    /// </remarks>
    public static ITransitionObjective Bind(ITransitionObjective reward, FeatureSchema rows)
    {
        var columns = Columns(reward.Features, rows, "sample");
        return columns is null ? reward : reward switch
        {
            ArrivalReward arrival => new ArrivalReward(new ColumnSelectedObjective(arrival.Objective, columns, rows)),
            ShapedObjective shaped => new ShapedObjective(new ColumnSelectedObjective(shaped.Base, columns, rows), new ColumnSelectedObjective(shaped.Potential, columns, rows), shaped.Gamma),
            _ => new ColumnSelectedTransition(reward, columns, rows.Count),
        };
    }

    /// <summary>Reads a state objective's columns out of rows of a wider schema (<see cref="Features"/> is that schema).</summary>
    private sealed class ColumnSelectedObjective(ICompiledObjective inner, int[] columns, FeatureSchema rows) : ICompiledObjective
    {
        public FeatureSchema Features => rows;

        public void Evaluate(ReadOnlySpan<double> features, Span<double> values)
        {
            var n = values.Length;
            var f = columns.Length;
            var width = rows.Count;
            ObjectiveShapes.Check(features.Length, n, width);
            var selected = new double[n * f];
            for (var i = 0; i < n; i++)
            {
                for (var k = 0; k < f; k++)
                {
                    selected[i * f + k] = features[i * width + columns[k]];
                }
            }
            inner.Evaluate(selected, values);
        }
    }

    /// <summary>Reads a transition objective's columns out of a wider sample.</summary>
    private sealed class ColumnSelectedTransition(ITransitionObjective inner, int[] columns, int sampleWidth) : ITransitionObjective
    {
        public Telos.Environments.FeatureSchema Features => inner.Features;

        public void Evaluate(ReadOnlySpan<double> from, ReadOnlySpan<bool> fromTerminal, ReadOnlySpan<double> to, ReadOnlySpan<bool> toTerminal, Span<double> rewards)
        {
            var n = rewards.Length;
            var f = columns.Length;
            var a = new double[n * f];
            var b = new double[n * f];
            for (var i = 0; i < n; i++)
            {
                for (var k = 0; k < f; k++)
                {
                    a[i * f + k] = from[i * sampleWidth + columns[k]];
                    b[i * f + k] = to[i * sampleWidth + columns[k]];
                }
            }
            inner.Evaluate(a, fromTerminal, b, toTerminal, rewards);
        }
    }
}
