using Telos.Learning.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Runs;

/// <summary>
/// Adam's state as checkpoint tensors: per parameter <c>PREFIX{i}.exp_avg</c> and <c>PREFIX{i}.exp_avg_sq</c>
/// (i in the optimizer's parameter order) plus the step counts, which go in the sidecar's metadata.
/// A resume that restores weights but not these moments takes different steps from an uninterrupted run.
/// TorchSharp's <see cref="Adam"/> and <see cref="FusedAdam"/> write the same names and shapes, so either
/// restores the other's checkpoint.
/// </summary>
public static class AdamCheckpoint
{
    /// <summary>Adds the moments to <paramref name="tensors"/> (detached views; save them before the next step) and returns the step counts.</summary>
    public static long[] Capture(Adam optimizer, string prefix, IDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(tensors);
        var state = optimizer.state_dict();
        var steps = new long[state.State.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            var s = (Adam.State)state.State[i];
            tensors[$"{prefix}{i}.exp_avg"] = s.exp_avg.detach();
            tensors[$"{prefix}{i}.exp_avg_sq"] = s.exp_avg_sq.detach();
            steps[i] = s.step;
        }
        return steps;
    }

    /// <summary>Copies the moments back from <paramref name="tensor"/> (by name) and sets the step counts.</summary>
    /// <param name="optimizer">An optimizer over the same parameters, in the same order.</param>
    /// <param name="prefix">The prefix given to <see cref="Capture(Adam, string, IDictionary{string, Tensor})"/>.</param>
    /// <param name="tensor">Looks a tensor up by name; throws <see cref="TelosInputException"/> when it is missing.</param>
    /// <param name="steps">The step counts <see cref="Capture(Adam, string, IDictionary{string, Tensor})"/> returned.</param>
    /// <param name="source">The checkpoint, for messages.</param>
    /// <exception cref="TelosInputException">Another number of parameters, or a moment of another shape.</exception>
    public static void Restore(Adam optimizer, string prefix, Func<string, Tensor> tensor, IReadOnlyList<long> steps, string source)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(steps);
        var state = optimizer.state_dict();
        if (steps.Count != state.State.Count)
        {
            throw new TelosInputException($"{source}: checkpoint has Adam state for {steps.Count} parameters, the model has {state.State.Count}");
        }
        using (no_grad())
        {
            for (var i = 0; i < steps.Count; i++)
            {
                var s = (Adam.State)state.State[i];
                var (mean, square) = (tensor($"{prefix}{i}.exp_avg"), tensor($"{prefix}{i}.exp_avg_sq"));
                if (!mean.shape.SequenceEqual(s.exp_avg.shape) || !square.shape.SequenceEqual(s.exp_avg_sq.shape))
                {
                    throw new TelosInputException($"{source}: Adam moment {prefix}{i} has shape [{string.Join(", ", mean.shape)}], the parameter has [{string.Join(", ", s.exp_avg.shape)}]");
                }
                s.exp_avg.copy_(mean);
                s.exp_avg_sq.copy_(square);
                s.step = steps[i];
            }
        }
        optimizer.load_state_dict(state);
    }

    /// <summary><see cref="Capture(Adam, string, IDictionary{string, Tensor})"/> for a <see cref="FusedAdam"/>: the same names.</summary>
    public static long[] Capture(FusedAdam optimizer, string prefix, IDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(tensors);
        for (var i = 0; i < optimizer.Parameters.Count; i++)
        {
            tensors[$"{prefix}{i}.exp_avg"] = optimizer.ExpAvg[i].detach();
            tensors[$"{prefix}{i}.exp_avg_sq"] = optimizer.ExpAvgSq[i].detach();
        }
        return [.. optimizer.Steps];
    }

    /// <summary><see cref="Restore(Adam, string, Func{string, Tensor}, IReadOnlyList{long}, string)"/> for a <see cref="FusedAdam"/>.</summary>
    /// <exception cref="TelosInputException">Another number of parameters, or a moment of another shape.</exception>
    public static void Restore(FusedAdam optimizer, string prefix, Func<string, Tensor> tensor, IReadOnlyList<long> steps, string source)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count != optimizer.Parameters.Count)
        {
            throw new TelosInputException($"{source}: checkpoint has Adam state for {steps.Count} parameters, the model has {optimizer.Parameters.Count}");
        }
        var means = new Tensor[steps.Count];
        var squares = new Tensor[steps.Count];
        for (var i = 0; i < steps.Count; i++)
        {
            (means[i], squares[i]) = (tensor($"{prefix}{i}.exp_avg"), tensor($"{prefix}{i}.exp_avg_sq"));
            if (!means[i].shape.SequenceEqual(optimizer.ExpAvg[i].shape) || !squares[i].shape.SequenceEqual(optimizer.ExpAvgSq[i].shape))
            {
                throw new TelosInputException($"{source}: Adam moment {prefix}{i} has shape [{string.Join(", ", means[i].shape)}], the parameter has [{string.Join(", ", optimizer.ExpAvg[i].shape)}]");
            }
            if (steps[i] < 0)
            {
                throw new TelosInputException($"{source}: Adam step count {steps[i]} of parameter {i} is negative");
            }
        }
        optimizer.Restore(means, squares, steps);
    }
}
