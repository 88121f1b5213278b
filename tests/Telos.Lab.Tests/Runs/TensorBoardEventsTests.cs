using System.Buffers.Binary;
using System.Text;
using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Runs;

public sealed class TensorBoardEventsTests
{
    [Fact]
    public void Crc32CMatchesTheCastagnoliCheckValue() =>
        Assert.Equal(0xE3069283u, TensorBoardEvents.Crc32C(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void EventsParseAsTensorFlowEventsWithTheLoggedScalars()
    {
        using var temp = new TempFolder();
        var time = new FixedTime(DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_250));
        string path;
        using (var events = new TensorBoardEvents(temp.Path, time))
        {
            events.Write(7, new Dictionary<string, double> { ["train/loss"] = 0.25, ["eval/acc"] = 0.75 });
            events.Write(3_000_000_000L, new Dictionary<string, double> { ["train/loss"] = -1.5 });
            path = events.FilePath;
        }
        Assert.StartsWith("events.out.tfevents.1750000000.", Path.GetFileName(path), StringComparison.Ordinal);

        // Parsed by TorchSharp's generated protobuf classes: an independent reader of the same schema.
        var records = ReadRecords(File.ReadAllBytes(path)).Select(r => Tensorboard.Event.Parser.ParseFrom(r)).ToList();
        Assert.Equal(3, records.Count);
        Assert.Equal("brain.Event:2", records[0].FileVersion);
        Assert.Equal(1_750_000_000.25, records[0].WallTime);
        Assert.Equal(7, records[1].Step);
        Assert.Equal(1_750_000_000.25, records[1].WallTime);
        Assert.Equal([("train/loss", 0.25f), ("eval/acc", 0.75f)], records[1].Summary.Value.Select(v => (v.Tag, v.SimpleValue)));
        Assert.Equal(3_000_000_000L, records[2].Step);
        Assert.Equal([("train/loss", -1.5f)], records[2].Summary.Value.Select(v => (v.Tag, v.SimpleValue)));
    }

    /// <summary>Splits a TFRecord stream, checking both masked CRCs of every record.</summary>
    private static List<byte[]> ReadRecords(byte[] file)
    {
        static uint Masked(ReadOnlySpan<byte> data)
        {
            var crc = TensorBoardEvents.Crc32C(data);
            return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
        }

        var records = new List<byte[]>();
        var at = 0;
        while (at < file.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Assert.Equal(Masked(file.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)));
            var data = file.AsSpan(at + 12, length);
            Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + length)));
            records.Add(data.ToArray());
            at += 16 + length;
        }
        return records;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
