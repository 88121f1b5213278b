using System.Diagnostics;
using System.Text.Json;

namespace Telos.Cli.Tests;

public sealed class EnvCommandsTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliHarness.RunIn(Path.GetTempPath(), args);

    [Fact]
    public void List_names_every_distribution()
    {
        var (code, output, _) = Run("env", "list", "--json");
        Assert.Equal(0, code);
        var names = JsonDocument.Parse(output).RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray();
        // The built-in families first; a test may have registered its own after them.
        Assert.Equal(["maze/train", "maze/test", "maze/far", "kc/train", "kc/test"], names.Take(5));
    }

    [Fact]
    public void Show_prints_the_maze_with_mouse_bottom_left()
    {
        var (code, output, _) = Run("env", "show", "maze/train", "--seed", "7", "--size", "9");
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.Equal("maze/train size=9 region=1 seed=7", lines[0]);
        Assert.Equal('C', lines[1][8]);     // region 1: the cheese is in the top-right corner
        Assert.Equal('M', lines[9][0]);
        Assert.Contains("path_dist_to_corner=", output);
    }

    [Fact]
    public void Show_writes_a_png_when_asked()
    {
        var path = Path.Combine(Path.GetTempPath(), $"telos-env-{Guid.NewGuid():N}.png");
        try
        {
            var (code, _, _) = Run("env", "show", "kc/train", "--seed", "1", "--png", path, "--cell-pixels", "4");
            Assert.Equal(0, code);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(0x89, bytes[0]);
            Assert.Equal((byte)'P', bytes[1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("show maze/nope", "unknown task distribution 'maze/nope'")]
    [InlineData("show maze/test --size 12", "maze size 12")]
    [InlineData("show maze/test --size 1", "maze size 1")]
    [InlineData("show maze/train --size 5 --region 6", "cheese region 6")]
    [InlineData("show maze/test --seed -4", "seed -4 is negative")]
    [InlineData("show kc/test --max-minority 0", "max minority count 0")]
    [InlineData("bench chess", "unknown environment family 'chess'")]
    [InlineData("show kc/test --region 3", "kc/test takes no parameter 'region'")]
    [InlineData("bench maze --batch 0", "--batch, --steps and --repeats must be at least 1")]
    public void Bad_input_is_one_line_and_exit_code_two(string args, string message)
    {
        var (code, output, error) = Run(["env", .. args.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = error.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(message, lines[0]);
    }

    [Theory]
    [InlineData("maze/train")]
    [InlineData("maze/far")]
    [InlineData("kc/test")]
    public void Check_passes_every_distribution(string name)
    {
        var (code, output, _) = Run("env", "check", name, "--levels", "3", "--size", "5", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.True(json.GetProperty("passed").GetBoolean());
        Assert.True(json.GetProperty("steps_checked").GetInt32() > 0);
    }

    [Theory]
    [InlineData("maze", "maze/train")]
    [InlineData("kc", "kc/train")]
    [InlineData("kc/test", "kc/test")]
    public void Bench_prints_the_documented_json(string env, string distribution)
    {
        var (code, output, _) = Run("env", "bench", env, "--batch", "8", "--steps", "20", "--repeats", "1", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(distribution, json.GetProperty("env").GetString());
        Assert.Equal(8, json.GetProperty("batch").GetInt32());
        Assert.True(json.GetProperty("steps_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("encoded_steps_per_second").GetDouble() > 0);
    }

    [Fact]
    public void Same_seed_gives_the_same_level_in_another_process()
    {
        var cli = typeof(TelosApp).Assembly.Location;
        foreach (var args in new[] { "env show maze/test --seed 123456789 --size 25 --json", "env show kc/test --seed 42 --json", "env show maze/far --seed 5 --json" })
        {
            var inProcess = Run(args.Split(' ')).Output.Trim();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(cli);
            foreach (var a in args.Split(' '))
            {
                start.ArgumentList.Add(a);
            }
            using var child = Process.Start(start)!;
            var childOutput = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            Assert.Equal(0, child.ExitCode);
            Assert.Equal(inProcess, childOutput);
        }
    }
}
