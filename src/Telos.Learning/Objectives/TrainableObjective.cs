using System.Collections.Immutable;
using Telos.Objectives;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>What a trainable objective reads.</summary>
public enum ObjectiveInput
{
    /// <summary>Named scalar features [B, F].</summary>
    Features,

    /// <summary>Flattened one-hot observations [B, C·H·W].</summary>
    Observation,
}

/// <summary>
/// A trainable objective form: a TorchSharp module V(x) with x = <c>[B, D]</c> (features or
/// flattened observations) → <c>[B]</c>, float64. Each form enforces its constraint by
/// construction (masks, softplus, non-negative hidden weights), so the constraint holds after any
/// number of optimizer steps. Signals train it; <see cref="ToCard"/> describes it.
/// </summary>
public abstract class TrainableObjective : nn.Module<Tensor, Tensor>
{
    protected TrainableObjective(string name, ImmutableArray<string> features)
        : base(name)
    {
        Features = features;
    }

    /// <summary>Feature names (the columns of a features input, and of penalties and frozen weights).</summary>
    public ImmutableArray<string> Features { get; }

    /// <summary>The declared form.</summary>
    public abstract ObjectiveForm Form { get; }

    /// <summary>What <see cref="nn.Module{T,TResult}.forward"/> reads.</summary>
    public virtual ObjectiveInput Input => ObjectiveInput.Features;

    /// <summary>
    /// R(s, s′) for a batch of transitions: default V(s′) (the arrival reward). Inputs are
    /// <c>[B, D]</c>; terminal flags are float64 <c>[B]</c> of 0/1.
    /// </summary>
    public virtual Tensor Reward(Tensor from, Tensor fromTerminal, Tensor to, Tensor toTerminal) => call(to);

    /// <summary>A penalty added to the training loss (L1 for the sparse form); a scalar tensor.</summary>
    public virtual Tensor Regularizer() => zeros(1, dtype: ScalarType.Float64);

    /// <summary>Zeroes the gradient of the weights of the given feature columns (frozen features). Forms without named weights ignore it.</summary>
    public virtual void MaskGradients(IReadOnlyList<int> frozenColumns)
    {
    }

    /// <summary>The card of the current parameters. Neural forms leave <see cref="ObjectiveCard.WeightsFile"/> to the saver.</summary>
    public abstract ObjectiveCard ToCard(Provenance provenance);

    /// <summary>
    /// How strongly V reads each input column on <paramref name="rows"/> ([N, D] row-major, D = the input width): the mean
    /// over rows of |∂V/∂xᵢ| (for a linear form, |wᵢ| exactly). Parameters' gradients are left untouched.
    /// </summary>
    /// <exception cref="ArgumentException">No rows, or a length that is not a multiple of <paramref name="width"/>.</exception>
    public double[] MeanAbsoluteGradient(ReadOnlySpan<double> rows, int width)
    {
        if (width < 1 || rows.IsEmpty || rows.Length % width != 0)
        {
            throw new ArgumentException($"expected N ≥ 1 rows of {width} values, got {rows.Length} values", nameof(rows));
        }
        using var scope = NewDisposeScope();
        var x = Rows(rows, width).requires_grad_(true);
        var gradient = autograd.grad([call(x).sum()], [x])[0];
        return ToArray(gradient.abs().mean([0]));
    }

    /// <summary>A float64 tensor [B, D] copied from a row-major span.</summary>
    public static Tensor Rows(ReadOnlySpan<double> values, int width) =>
        tensor(values.ToArray(), [values.Length / Math.Max(1, width), width], ScalarType.Float64);

    /// <summary>A float64 tensor [B, D] copied from row-major float32 observations.</summary>
    public static Tensor Rows(ReadOnlySpan<float> values, int width) =>
        tensor(values.ToArray(), [values.Length / Math.Max(1, width), width], ScalarType.Float32).to_type(ScalarType.Float64);

    /// <summary>A float64 0/1 tensor [B] from flags.</summary>
    public static Tensor Flags(ReadOnlySpan<bool> flags)
    {
        var values = new double[flags.Length];
        for (var i = 0; i < flags.Length; i++)
        {
            values[i] = flags[i] ? 1.0 : 0.0;
        }
        return tensor(values, ScalarType.Float64);
    }

    /// <summary>Copies a float64 tensor to a managed array.</summary>
    public static double[] ToArray(Tensor t) => t.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();

    protected static ImmutableArray<double> Values(Tensor t) => [.. ToArray(t)];
}
