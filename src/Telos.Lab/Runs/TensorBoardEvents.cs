using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Telos.Lab.Runs;

/// <summary>
/// Writes TensorBoard scalar events (<c>events.out.tfevents.*</c>) in managed code, so logging metrics
/// never loads LibTorch. The file is a TFRecord stream: per record the little-endian uint64 length, its
/// masked CRC-32C, the serialized <c>tensorflow.Event</c> protobuf, and the data's masked CRC-32C. The
/// first record carries <c>file_version = "brain.Event:2"</c>; each <see cref="Write"/> adds one event
/// (wall time in seconds since the epoch, step, one summary value per scalar). Each record is one write,
/// flushed; a torn last record (a kill mid-write) is skipped by TensorBoard's reader.
/// </summary>
internal sealed class TensorBoardEvents : IDisposable
{
    private static int _fileCounter;
    private readonly FileStream _stream;
    private readonly TimeProvider _time;

    /// <summary>Creates a new event file in <paramref name="folder"/> (created if missing).</summary>
    public TensorBoardEvents(string folder, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(folder);
        var now = _time.GetUtcNow();
        var name = string.Create(
            CultureInfo.InvariantCulture,
            $"events.out.tfevents.{now.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref _fileCounter)}");
        FilePath = Path.Combine(folder, name);
        _stream = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var header = new ProtoWriter();
        header.Double(1, WallTime(now));
        header.String(3, "brain.Event:2");
        WriteRecord(header.ToArray());
    }

    /// <summary>Absolute path of the event file.</summary>
    public string FilePath { get; }

    /// <summary>Appends one event holding every scalar of <paramref name="values"/> at <paramref name="step"/>.</summary>
    public void Write(long step, IReadOnlyDictionary<string, double> values)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, value) in values)
        {
            var entry = new ProtoWriter();
            entry.String(1, tag);
            entry.Float(2, (float)value);
            summary.Message(1, entry);
        }
        var e = new ProtoWriter();
        e.Double(1, WallTime(_time.GetUtcNow()));
        e.Varint(2, (ulong)step);
        e.Message(5, summary);
        WriteRecord(e.ToArray());
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>TFRecord framing of one serialized record (length, masked CRC of length, data, masked CRC of data).</summary>
    internal static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), MaskedCrc(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), MaskedCrc(data));
        return record;
    }

    /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of <paramref name="data"/>.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var i = 0u; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }

    private static double WallTime(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    private void WriteRecord(ReadOnlySpan<byte> data)
    {
        _stream.Write(Frame(data));
        _stream.Flush();
    }

    /// <summary>The few protobuf wire types an Event with scalar summaries needs.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new();

        public void Varint(int field, ulong value)
        {
            Key(field, 0);
            RawVarint(value);
        }

        public void Double(int field, double value)
        {
            Key(field, 1);
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
            _buffer.Write(bytes);
        }

        public void Float(int field, float value)
        {
            Key(field, 5);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            _buffer.Write(bytes);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _buffer.ToArray();

        private void Bytes(int field, byte[] value)
        {
            Key(field, 2);
            RawVarint((ulong)value.Length);
            _buffer.Write(value);
        }

        private void Key(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

        private void RawVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _buffer.WriteByte((byte)value);
        }
    }
}
