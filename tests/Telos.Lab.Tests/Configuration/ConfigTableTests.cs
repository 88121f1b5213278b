using CsCheck;
using Telos.Lab.Configuration;

namespace Telos.Lab.Tests.Configuration;

public sealed class ConfigTableTests
{
    private const string Sample = """
        # a comment line
        steps = 100
        rate = 0.5
        name = "adam"

        flag = true
        hidden = [8, 16]

        [model]
        width = 32
        """;

    [Fact]
    public void GettersReturnGivenValuesAndDefaults()
    {
        var config = ConfigFile.Parse(Sample, "x.toml");
        Assert.Equal(100, config.GetInt("steps", 1, 1, 1000));
        Assert.Equal(0.5, config.GetDouble("rate", 0.1, 0, 1));
        Assert.Equal("adam", config.GetString("name", "sgd", ["adam", "sgd"]));
        Assert.True(config.GetBool("flag", false));
        Assert.Equal([8, 16], config.GetIntList("hidden", [1]));
        Assert.Equal(7L, config.GetLong("absent", 7));
        var model = config.Table("model");
        Assert.Equal(32, model.GetInt("width", 4, 1, 64));
        Assert.Equal(3, model.GetInt("depth", 3));
        Assert.Equal(5, config.Table("missing").GetInt("x", 5));
        config.EnsureAllKeysUsed();
    }

    [Theory]
    [InlineData("steps = 0", "x.toml:1: key 'steps': expected integer in [1, 1000], got 0")]
    [InlineData("\n\nsteps = \"ten\"", "x.toml:3: key 'steps': expected integer in [1, 1000], got string \"ten\"")]
    [InlineData("steps = 2.5", "x.toml:1: key 'steps': expected integer in [1, 1000], got float 2.5")]
    [InlineData("# c\n[model]\n# c\nwidth = 0", "x.toml:4: key 'model.width': expected integer >= 1, got 0")]
    [InlineData("rate = 2", "x.toml:1: key 'rate': expected float in [0.0, 1.0], got 2.0")]
    [InlineData("rate = nan", "x.toml:1: key 'rate': expected float in [0.0, 1.0], got nan")]
    [InlineData("opt = \"rms\"", "x.toml:1: key 'opt': expected one of \"adam\", \"sgd\", got \"rms\"")]
    [InlineData("flag = 1", "x.toml:1: key 'flag': expected boolean (true or false), got integer 1")]
    [InlineData("hidden = [4,\n 0]", "x.toml:2: key 'hidden[1]': expected integer in [1, 64], got 0")]
    [InlineData("hidden = []", "x.toml:1: key 'hidden': expected an array of 1 to 4 items, got 0")]
    [InlineData("hidden = 3", "x.toml:1: key 'hidden': expected an array, got integer 3")]
    [InlineData("model = 3", "x.toml:1: key 'model': expected table, got integer 3")]
    public void BadValuesNameFileLineAndKey(string text, string expected)
    {
        var config = ConfigFile.Parse(text, "x.toml");
        var error = Assert.Throws<TelosInputException>(() => ReadAll(config));
        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData("steps = 5\nstesp = 6", "x.toml:2: key 'stesp': unknown key (known here: steps)")]
    [InlineData("steps = 5\n[model]\nwidht = 3", "x.toml:3: key 'model.widht': unknown key (known here: width)")]
    [InlineData("steps = 5\n[modle]\nwidth = 3", "x.toml:3: key 'modle': unknown key (known here: steps)")]
    [InlineData("model.width = 3\nmodel.extra = 1", "x.toml:2: key 'model.extra': unknown key (known here: width)")]
    public void UnknownKeysAreRejectedWithTheirLine(string text, string expected)
    {
        var config = ConfigFile.Parse(text, "x.toml");
        config.GetInt("steps", 1);
        config.Table("model").GetInt("width", 1);
        var error = Assert.Throws<TelosInputException>(config.EnsureAllKeysUsed);
        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData("steps = \n", "x.toml:1: syntax error:")]
    [InlineData("a = 1\nb = [1, 2\n", "x.toml:")]
    [InlineData("a = 1\na = 2\n", "x.toml:2: syntax error:")]
    [InlineData("a = 1\n[[runs]]\nx = 1\n", "x.toml:2: arrays of tables")]
    public void SyntaxErrorsAreOneLineWithFileAndLine(string text, string prefix)
    {
        var error = Assert.Throws<TelosInputException>(() => ConfigFile.Parse(text, "x.toml"));
        Assert.StartsWith(prefix, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void MissingFileIsAnInputError()
    {
        var error = Assert.Throws<TelosInputException>(() => ConfigFile.Load("/nonexistent/cfg.toml"));
        Assert.StartsWith("/nonexistent/cfg.toml: cannot read config", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverrideReplacesTheFileValue()
    {
        var config = ConfigFile.Parse("seed = 3", "x.toml");
        config.Override("seed", 11);
        Assert.Equal(11, config.GetLong("seed", 0));
        config.Override("seed", -1);
        var error = Assert.Throws<TelosInputException>(() => config.GetLong("seed", 0, min: 0));
        Assert.Equal("x.toml (command line): key 'seed': expected integer >= 0, got -1", error.Message);
    }

    [Fact]
    public void ResolvedTomlHoldsDefaultsAndParsesBackToTheSameValuesAndHash()
    {
        var config = ConfigFile.Parse(Sample, "x.toml");
        ReadSample(config);
        var resolved = config.ToResolvedToml();
        Assert.Contains("depth = 3", resolved.Split('\n').Select(l => l.Trim()));
        Assert.Contains("[model]", resolved, StringComparison.Ordinal);

        var again = ConfigFile.Parse(resolved, "resolved.toml");
        ReadSample(again);
        again.EnsureAllKeysUsed();
        Assert.Equal(resolved, again.ToResolvedToml());
        Assert.Equal(config.Hash(), again.Hash());
        Assert.Equal(TomlHash.Of(resolved), config.Hash());
        Assert.Matches("^[0-9a-f]{16}$", config.Hash());

        static void ReadSample(ConfigTable c)
        {
            c.GetInt("steps", 1);
            c.GetDouble("rate", 0.1);
            c.GetString("name", "x");
            c.GetBool("flag", false);
            c.GetIntList("hidden", []);
            c.GetDoubleList("weights", [0.25, 1e-7]);
            c.GetStringList("tags", ["a \"b\"", "c\\d"]);
            c.Table("model").GetInt("width", 1);
            c.Table("model").GetInt("depth", 3);
        }
    }

    [Fact]
    public void ResolvedTomlRoundTripsAnyDoubleAndLong()
    {
        Gen.Select(Gen.Double, Gen.Long, Gen.String).Sample((d, l, s) =>
        {
            var config = ConfigFile.Parse("", "x.toml");
            config.GetDouble("d", d);
            config.GetLong("l", l);
            config.GetString("s", s);
            var again = ConfigFile.Parse(config.ToResolvedToml(), "r.toml");
            var d2 = again.GetDouble("d", 0);
            return (double.IsNaN(d) || d2.Equals(d)) && again.GetLong("l", 0) == l && again.GetString("s", "") == s;
        }, iter: 300);
    }

    private static void ReadAll(ConfigTable config)
    {
        config.GetInt("steps", 1, 1, 1000);
        config.GetDouble("rate", 0.5, 0, 1);
        config.GetString("opt", "adam", ["adam", "sgd"]);
        config.GetBool("flag", false);
        config.GetIntList("hidden", [1], 1, 64, minCount: 1, maxCount: 4);
        config.Table("model").GetInt("width", 1, min: 1);
    }
}
