using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>
/// Binds the suite's shared server to the collection every class here belongs to, so the classes run one after another
/// (instances of the service are heavy on two cores) against one real server.
/// </summary>
[CollectionDefinition(SharedRedisFixture.CollectionName)]
public sealed class SharedRedisCollectionDefinition : ICollectionFixture<SharedRedisFixture>
{
}
