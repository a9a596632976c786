using BendCare.Cache.Connection;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// What the connection check and the eviction watch read from an <c>INFO</c> reply, on whole replies of each product:
/// <c>redis-7.0.15.txt</c> and <c>garnet-2.2.8.txt</c> captured from a local redis-server 7.0.15 and an embedded Garnet
/// 2.2.8 (host-specific <c>os</c> and <c>executable</c> values replaced), <c>valkey-8.0.1-cluster.txt</c> written from
/// Valkey 8's documented format (a cluster primary with <c>maxmemory-policy allkeys-lru</c> that has evicted keys).
/// The files are stored with LF line ends; the tests parse them with CRLF, as the server sends them.
/// </summary>
public class ServerInfoTests
{
    [Fact]
    public void Redis_7_reply_is_Redis_with_its_version_standalone_and_no_evictions()
    {
        var info = ServerInfo.Parse(Sample("redis-7.0.15.txt"));

        Assert.Equal(ServerProduct.Redis, info.Product);
        Assert.Equal("7.0.15", info.Version);
        Assert.False(info.IsClusterEnabled);
        Assert.Equal(0, info.EvictedKeys);
        Assert.Equal("standalone", info.Sections["Server"]["redis_mode"]);
        Assert.Equal("noeviction", info.Sections["memory"]["maxmemory_policy"]);
        Assert.Empty(info.Sections["Keyspace"]);
    }

    [Fact]
    public void Valkey_8_reply_is_Valkey_with_its_own_version_not_the_redis_compatibility_one()
    {
        var info = ServerInfo.Parse(Sample("valkey-8.0.1-cluster.txt"));

        Assert.Equal(ServerProduct.Valkey, info.Product);
        Assert.Equal("8.0.1", info.Version);
        Assert.Equal("7.2.4", info["redis_version"]);
        Assert.True(info.IsClusterEnabled);
        Assert.Equal(17, info.EvictedKeys);
        Assert.Equal("ip=10.0.1.12,port=6379,state=online,offset=96102342,lag=0,type=replica", info.Sections["Replication"]["slave0"]);
    }

    [Fact]
    public void Garnet_reply_is_Garnet_with_its_own_version_and_no_eviction_count()
    {
        var info = ServerInfo.Parse(Sample("garnet-2.2.8.txt"));

        Assert.Equal(ServerProduct.Garnet, info.Product);
        Assert.Equal("2.2.8", info.Version);
        Assert.Equal("7.4.3", info["redis_version"]);
        Assert.False(info.IsClusterEnabled);
        Assert.Null(info.EvictedKeys);
        Assert.Equal("state=REST,version=1", info.Sections["Store_DB_0"]["SystemState"]);
    }

    [Theory]
    [InlineData("redis-7.0.15.txt")]
    [InlineData("valkey-8.0.1-cluster.txt")]
    [InlineData("garnet-2.2.8.txt")]
    public void LF_and_CRLF_line_ends_parse_the_same(string sample)
    {
        var crlf = ServerInfo.Parse(Sample(sample));
        var lf = ServerInfo.Parse(Sample(sample).ReplaceLineEndings("\n"));

        Assert.Equal(crlf.Sections.Keys, lf.Sections.Keys);
        Assert.All(crlf.Sections, s => Assert.Equal(s.Value, lf.Sections[s.Key]));
        Assert.DoesNotContain(crlf.Sections.Values.SelectMany(s => s.Values), v => v.EndsWith('\r'));
    }

    [Fact]
    public void Server_name_valkey_alone_is_Valkey_and_falls_back_to_redis_version()
    {
        var info = ServerInfo.Parse("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\n");

        Assert.Equal(ServerProduct.Valkey, info.Product);
        Assert.Equal("7.2.4", info.Version);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("# Server\r\n")]
    public void Reply_without_fields_is_Redis_of_unknown_version(string? text)
    {
        var info = ServerInfo.Parse(text);

        Assert.Equal(ServerProduct.Redis, info.Product);
        Assert.Null(info.Version);
        Assert.False(info.IsClusterEnabled);
        Assert.Null(info.EvictedKeys);
    }

    [Fact]
    public void Fields_before_any_header_and_field_names_in_any_case_are_found()
    {
        var info = ServerInfo.Parse("cluster_enabled:1\r\n# Stats\r\nEvicted_Keys:5\r\n");

        Assert.Equal("1", info.Sections[ServerInfo.NoSection]["cluster_enabled"]);
        Assert.True(info.IsClusterEnabled);
        Assert.Equal(5, info.EvictedKeys);
    }

    [Theory]
    [InlineData("# Stats\r\ntotal_connections_received:3\r\nevicted_keys:42\r\nevicted_clients:0\r\n", true, 42)]
    [InlineData("# Stats\r\nexpired_keys:1\r\n", false, 0)]
    [InlineData(null, false, 0)]
    public void Eviction_watch_reads_evicted_keys_from_INFO(string? info, bool found, long expected)
    {
        long? evicted = ServerInfo.Parse(info).EvictedKeys;

        Assert.Equal(found, evicted is not null);
        Assert.Equal(expected, evicted ?? 0);
    }

    private static string Sample(string name)
    {
        using var stream = typeof(ServerInfoTests).Assembly.GetManifestResourceStream("ServerInfoSamples." + name)
            ?? throw new InvalidOperationException($"no embedded sample {name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().ReplaceLineEndings("\r\n");
    }
}
