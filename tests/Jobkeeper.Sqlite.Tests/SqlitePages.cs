using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>Damages a SQLite file the way a bad disk block does: garbage over the middle of one b-tree page.</summary>
internal static class SqlitePages
{
    /// <summary>
    /// Overwrites the middle of a leaf page of <paramref name="table"/> (after copying the WAL into the file) and
    /// returns the page number. Its neighbours, and every other table, stay sound.
    /// </summary>
    public static long DamageLeaf(string databasePath, string table)
    {
        long page;
        long pageSize;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // A server's readers can hold the WAL for a moment; the checkpoint is retried until it got everything.
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                using var reader = command.ExecuteReader();
                if (reader.Read() && reader.GetInt64(0) == 0)
                {
                    break;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the WAL could not be copied into the database first");
            }

            command.CommandText = "PRAGMA page_size";
            pageSize = (long)command.ExecuteScalar()!;
            command.CommandText = "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = $table";
            command.Parameters.AddWithValue("$table", table);
            page = (long)command.ExecuteScalar()!;
        }

        // Down the b-tree from its root, through the middle child of each interior page, to a leaf.
        var bytes = new byte[pageSize];
        using (var read = new FileStream(databasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            while (true)
            {
                read.Position = (page - 1) * pageSize;
                read.ReadExactly(bytes);
                var header = page == 1 ? 100 : 0;
                if (bytes[header] == 0x0D)
                {
                    break;
                }

                Assert.True(bytes[header] == 0x05, $"page {page} of {table} is no table b-tree page");
                var cells = (bytes[header + 3] << 8) | bytes[header + 4];
                Assert.True(cells >= 2, $"{table} has too few pages; the test needs more data");
                var pointer = header + 12 + 2 * (cells / 2);
                var cell = (bytes[pointer] << 8) | bytes[pointer + 1];
                page = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(cell, 4));
            }
        }

        using var file = new FileStream(databasePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.Position = (page - 1) * pageSize + 100;
        var garbage = new byte[pageSize / 2];
        Array.Fill(garbage, (byte)0xAB);
        file.Write(garbage);
        file.Flush(flushToDisk: true);
        return page;
    }
}
