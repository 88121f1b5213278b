using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

/// <summary>The fused LSTM sequence kernel against LibTorch's LSTMCell unrolled with keep masks.</summary>
public sealed class LstmSequenceTests
{
    private const double Tolerance = 1e-5;

    /// <summary>
    /// Forward outputs (every h, the last c) and the gradients of the input, h₀, c₀ and all four
    /// parameters match LibTorch's LSTMCell unroll, with episode starts mid-sequence, for hidden sizes
    /// that fill whole SIMD vectors (16) or leave a tail (6, 5, odd), and batches the kernel takes
    /// one row at a time (3) or as a block of four and the rest (6).
    /// </summary>
    [Theory]
    [InlineData(16, 3)]
    [InlineData(6, 3)]
    [InlineData(16, 6)]
    [InlineData(5, 6)]
    public void MatchesLibTorchLstmCellUnroll(int size, int batch)
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        const int steps = 9, features = 5;
        using var generator = new Generator(11);
        using var cell = nn.LSTMCell(features, size);
        using (no_grad())
        {
            // Non-zero biases, so that b_ih and b_hh gradients are tested on a non-trivial point.
            foreach (var p in cell.parameters())
            {
                p.copy_(randn(p.shape, generator: generator).mul(0.5));
            }
        }
        var x = randn([steps, batch, features], generator: generator).requires_grad_();
        var h0 = randn([batch, size], generator: generator).requires_grad_();
        var c0 = randn([batch, size], generator: generator).requires_grad_();
        var keeps = ones(steps, batch);
        keeps[3, 0] = tensor(0f);
        keeps[5, 2] = tensor(0f);
        keeps[0, 1] = tensor(0f);
        // The loss weighs every output differently, so a gradient sent to the wrong tick or row shows.
        var weightsH = randn([steps, batch, size], generator: generator);
        var weightsC = randn([batch, size], generator: generator);

        var (refH, refC) = ReferenceUnroll(cell, x, h0, c0, keeps);
        var refGrads = Gradients(refH.mul(weightsH).sum().add(refC.mul(weightsC).sum()), cell, x, h0, c0);

        var (fusedH, fusedC) = LstmSequence.Run(x, h0, c0, keeps, cell.weight_ih!, cell.weight_hh!, cell.bias_ih!, cell.bias_hh!);
        var fusedGrads = Gradients(fusedH.mul(weightsH).sum().add(fusedC.mul(weightsC).sum()), cell, x, h0, c0);

        AssertClose("h", refH, fusedH);
        AssertClose("last c", refC, fusedC);
        foreach (var (name, expected) in refGrads)
        {
            AssertClose($"grad {name}", expected, fusedGrads[name]);
        }
    }

    /// <summary>Without autograd the kernel returns the same outputs as with it and builds no graph.</summary>
    [Fact]
    public void NoGradForwardMatchesAndBuildsNoGraph()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        using var cell = nn.LSTMCell(4, 8);
        var x = randn([6, 2, 4], generator: generator);
        var state = (randn([2, 8], generator: generator), randn([2, 8], generator: generator));
        var keeps = ones(6, 2);
        keeps[2, 1] = tensor(0f);
        var (withGrad, _) = LstmSequence.Run(x, state.Item1, state.Item2, keeps, cell.weight_ih!, cell.weight_hh!, cell.bias_ih!, cell.bias_hh!);
        Tensor without;
        using (no_grad())
        {
            (without, _) = LstmSequence.Run(x, state.Item1, state.Item2, keeps, cell.weight_ih!, cell.weight_hh!, cell.bias_ih!, cell.bias_hh!);
        }
        Assert.True(withGrad.requires_grad);
        Assert.False(without.requires_grad);
        Assert.Equal(withGrad.detach().data<float>().ToArray(), without.data<float>().ToArray());
    }

    /// <summary>
    /// A policy on the fused kernel gives the LibTorch kernel's logits, values, state and parameter
    /// gradients on the same weights, and loads the other's parameters as they are (one set of names).
    /// </summary>
    [Fact]
    public void PolicyOnEitherKernelComputesTheSame()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var options = new PolicyOptions(ConvChannels: 4, Features: 16, LstmSize: 8);
        var shape = new ObservationShape(3, 5, 5);
        using var libtorch = new LstmActorCritic(shape, 4, options, seed: 3);
        using var fused = (LstmActorCritic)libtorch.Copy();
        fused.LstmKernel = LstmKernel.Fused;
        using var generator = new Generator(9);
        var observations = rand([7, 2, 3, 5, 5], generator: generator);
        var state = new RecurrentState(randn([2, 8], generator: generator), randn([2, 8], generator: generator));
        var starts = zeros(7, 2);
        starts[4, 1] = tensor(1f);

        var a = libtorch.Unroll(observations, state, starts);
        var b = fused.Unroll(observations, state, starts);
        AssertClose("logits", a.Logits, b.Logits);
        AssertClose("values", a.Values, b.Values);
        AssertClose("hidden", a.State.Hidden, b.State.Hidden);
        AssertClose("cell", a.State.Cell, b.State.Cell);
        a.Logits.log_softmax(-1).select(-1, 1).sum().add(a.Values.square().sum()).backward();
        b.Logits.log_softmax(-1).select(-1, 1).sum().add(b.Values.square().sum()).backward();
        var fusedParameters = fused.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in libtorch.named_parameters())
        {
            AssertClose($"grad {name}", parameter.grad!, fusedParameters[name].grad!);
        }
    }

    /// <summary>The same inputs give the same bits, forward and backward (a fixed summation order).</summary>
    [Fact]
    public void IsDeterministic()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var generator = new Generator(2);
        using var cell = nn.LSTMCell(5, 16);
        var x = randn([8, 4, 5], generator: generator);
        var h0 = zeros(4, 16);
        var keeps = ones(8, 4);
        float[][] Once()
        {
            cell.zero_grad();
            var (h, c) = LstmSequence.Run(x, h0, h0, keeps, cell.weight_ih!, cell.weight_hh!, cell.bias_ih!, cell.bias_hh!);
            h.sum().add(c.sum()).backward();
            return [h.detach().data<float>().ToArray(), .. cell.parameters().Select(p => p.grad!.data<float>().ToArray())];
        }
        var first = Once();
        var second = Once();
        Assert.Equal(first.Length, second.Length);
        for (var i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i], second[i]);
        }
    }

    private static (Tensor Hidden, Tensor LastCell) ReferenceUnroll(TorchSharp.Modules.LSTMCell cell, Tensor x, Tensor h0, Tensor c0, Tensor keeps)
    {
        var (h, c) = (h0, c0);
        var outputs = new Tensor[x.shape[0]];
        for (var t = 0; t < x.shape[0]; t++)
        {
            var keep = keeps[t].unsqueeze(1);
            (h, c) = cell.call(x[t], (h.mul(keep), c.mul(keep)));
            outputs[t] = h;
        }
        return (stack(outputs), c);
    }

    private static Dictionary<string, Tensor> Gradients(Tensor loss, TorchSharp.Modules.LSTMCell cell, Tensor x, Tensor h0, Tensor c0)
    {
        Tensor[] inputs = [x, h0, c0, cell.weight_ih!, cell.weight_hh!, cell.bias_ih!, cell.bias_hh!];
        var grads = autograd.grad([loss], inputs);
        string[] names = ["x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"];
        return names.Zip(grads).ToDictionary(p => p.First, p => p.Second);
    }

    /// <summary>Asserts <paramref name="actual"/> equals <paramref name="expected"/> in shape and to 1e-5 (relative where |value| &gt; 1); the fused kernels' tests share it.</summary>
    internal static void AssertClose(string what, Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.detach().contiguous().data<float>().ToArray();
        var a = actual.detach().contiguous().data<float>().ToArray();
        var worst = e.Zip(a).Max(p => Math.Abs(p.First - p.Second) / Math.Max(1.0, Math.Abs(p.First)));
        Assert.True(worst <= Tolerance, $"{what}: largest difference {worst:G3} (relative where |value| > 1) exceeds {Tolerance}");
    }
}
