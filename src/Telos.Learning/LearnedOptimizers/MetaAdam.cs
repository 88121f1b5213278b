using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over a module's parameters, with its whole state exposed
/// as named tensors so a meta-training checkpoint is one safetensors file.
/// </summary>
public sealed class MetaAdam : IDisposable
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;

    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly Tensor[] _first;
    private readonly Tensor[] _second;

    public MetaAdam(IEnumerable<TorchSharp.Modules.Parameter> parameters, double learningRate)
    {
        _parameters = parameters.ToArray();
        LearningRate = learningRate;
        _first = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _second = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Steps taken (for bias correction).</summary>
    public long Steps { get; set; }

    /// <summary>Clears the parameters' gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            p.grad?.zero_();
        }
    }

    /// <summary>One Adam step from the parameters' current gradients (parameters without one are skipped).</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Steps++;
        var correction1 = 1 - Math.Pow(Beta1, Steps);
        var correction2 = 1 - Math.Pow(Beta2, Steps);
        for (var i = 0; i < _parameters.Length; i++)
        {
            var g = _parameters[i].grad;
            if (g is null)
            {
                continue;
            }
            _first[i].mul_(Beta1).add_(g, 1 - Beta1);
            _second[i].mul_(Beta2).addcmul_(g, g, 1 - Beta2);
            var denominator = _second[i].div(correction2).sqrt_().add_(Epsilon);
            _parameters[i].addcdiv_(_first[i], denominator, -LearningRate / correction1);
        }
    }

    /// <summary>The moment tensors by name ("m/i", "v/i"), not copied.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            yield return new($"m/{i}", _first[i]);
            yield return new($"v/{i}", _second[i]);
        }
    }

    /// <summary>Copies moments back from <paramref name="state"/> (as <see cref="State"/> named them).</summary>
    public void LoadState(Func<string, Tensor> state, long steps)
    {
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            _first[i].copy_(state($"m/{i}"));
            _second[i].copy_(state($"v/{i}"));
        }
        Steps = steps;
    }

    public void Dispose()
    {
        foreach (var t in _first.Concat(_second))
        {
            t.Dispose();
        }
    }
}
