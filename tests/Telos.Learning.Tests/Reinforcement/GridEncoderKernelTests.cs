using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

/// <summary>The fused grid encoder against LibTorch's convolutions, ReLUs and linear layer.</summary>
public sealed class GridEncoderKernelTests
{
    /// <summary>
    /// The output and every weight's gradient match LibTorch's layers, flat and spatial, on a grid that
    /// is not square (so rows and columns cannot be swapped unnoticed), with inputs that are sparse
    /// but not only 0/1, non-zero biases, channel counts that fill whole SIMD vectors (8) and
    /// that leave a tail (5), and 11 grids: one block of eight that the kernel computes together and
    /// three it computes one at a time.
    /// </summary>
    [Theory]
    [InlineData(8, false)]
    [InlineData(5, false)]
    [InlineData(8, true)]
    [InlineData(5, true)]
    public void MatchesLibTorchLayers(int channels, bool spatial)
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var shape = new ObservationShape(3, 4, 6);
        using var generator = new Generator(13);
        using var encoder = new GridEncoder(shape, new PolicyOptions(ConvChannels: channels, Features: 12), generator, spatial);
        using (no_grad())
        {
            foreach (var p in encoder.parameters())
            {
                p.add_(randn(p.shape, generator: generator).mul(0.3));
            }
        }
        var input = Observations(11, shape, generator);
        var expected = encoder.call(input);
        var weights = randn(expected.shape, generator: generator);
        var expectedGrads = Gradients(expected, weights, encoder);

        encoder.Kernel = EncoderKernel.Fused;
        var actual = encoder.call(input);
        var actualGrads = Gradients(actual, weights, encoder);

        AssertClose("output", expected, actual);
        foreach (var (name, grad) in expectedGrads)
        {
            AssertClose($"grad {name}", grad, actualGrads[name]);
        }
    }

    /// <summary>Without autograd the fused encoder returns the same bits as with it, builds no graph, and runs the same twice.</summary>
    [Fact]
    public void NoGradForwardMatchesAndIsDeterministic()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var shape = new ObservationShape(3, 5, 5);
        using var generator = new Generator(3);
        using var encoder = new GridEncoder(shape, new PolicyOptions(ConvChannels: 8, Features: 16), generator) { Kernel = EncoderKernel.Fused };
        var input = Observations(4, shape, generator);
        float[][] Once()
        {
            encoder.zero_grad();
            var output = encoder.call(input);
            output.square().sum().backward();
            return [output.detach().data<float>().ToArray(), .. encoder.parameters().Select(p => p.grad!.data<float>().ToArray())];
        }
        var first = Once();
        var second = Once();
        Tensor without;
        using (no_grad())
        {
            without = encoder.call(input);
        }
        Assert.False(without.requires_grad);
        Assert.Equal(first[0], without.data<float>().ToArray());
        Assert.Equal(first.Length, second.Length);
        for (var i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i], second[i]);
        }
    }

    /// <summary>LSTM and DRC policies give the same logits, values and parameter gradients on either encoder kernel.</summary>
    [Theory]
    [InlineData(PolicyKind.Lstm)]
    [InlineData(PolicyKind.Drc)]
    public void PolicyOnEitherEncoderKernelComputesTheSame(PolicyKind kind)
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var shape = new ObservationShape(3, 5, 5);
        var options = new PolicyOptions(kind, ConvChannels: 4, Features: 16, LstmSize: 8, DrcLayers: 1, DrcTicks: 2, DrcChannels: 4);
        using var libtorch = ActorCritic.Create(shape, 4, options, seed: 5);
        using var fused = libtorch.Copy();
        fused.EncoderKernel = EncoderKernel.Fused;
        using var generator = new Generator(9);
        var observations = Observations(6 * 2, shape, generator).view(6, 2, 3, 5, 5);
        var state = libtorch.InitialState(2);
        var starts = zeros(6, 2);
        starts[3, 1] = tensor(1f);

        var a = libtorch.Unroll(observations, state, starts);
        var b = fused.Unroll(observations, state, starts);
        AssertClose("logits", a.Logits, b.Logits);
        AssertClose("values", a.Values, b.Values);
        a.Logits.log_softmax(-1).select(-1, 2).sum().add(a.Values.square().sum()).backward();
        b.Logits.log_softmax(-1).select(-1, 2).sum().add(b.Values.square().sum()).backward();
        var fusedParameters = fused.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in libtorch.named_parameters())
        {
            AssertClose($"grad {name}", parameter.grad!, fusedParameters[name].grad!);
        }
    }

    /// <summary>Grids like the environments': walls and single marks, a few cells of other values.</summary>
    private static Tensor Observations(int n, ObservationShape shape, Generator generator)
    {
        var marks = rand([n, shape.Channels, shape.Height, shape.Width], generator: generator);
        var values = marks.gt(0.6).to_type(ScalarType.Float32);
        return values.add(marks.gt(0.95).to_type(ScalarType.Float32).mul(0.5));
    }

    private static Dictionary<string, Tensor> Gradients(Tensor output, Tensor weights, GridEncoder encoder)
    {
        var named = encoder.named_parameters().ToArray();
        var grads = autograd.grad([output.mul(weights).sum()], [.. named.Select(p => (Tensor)p.parameter)]);
        return named.Select(p => p.name).Zip(grads).ToDictionary(p => p.First, p => p.Second);
    }

    private static void AssertClose(string what, Tensor expected, Tensor actual) => LstmSequenceTests.AssertClose(what, expected, actual);
}
