// A second, independent Proton client for Hadron's tests: the AWS SDK for JavaScript v3
// (@aws-sdk/client-proton) registers an environment template version from a bundle that the
// test put in the data directory, waits for it with the SDK's own waiter, publishes and lists
// it, and links, reads, lists and deletes a repository. Endpoint and credentials come from the
// environment, the local CA from NODE_EXTRA_CA_CERTS; the names come from argv. Prints one JSON
// line with what it saw (or the first unexpected error's name and message).
import {
  ProtonClient,
  CreateEnvironmentTemplateCommand,
  CreateEnvironmentTemplateVersionCommand,
  UpdateEnvironmentTemplateVersionCommand,
  ListEnvironmentTemplateVersionsCommand,
  GetEnvironmentTemplateCommand,
  CreateRepositoryCommand,
  GetRepositoryCommand,
  ListRepositoriesCommand,
  DeleteRepositoryCommand,
  waitUntilEnvironmentTemplateVersionRegistered,
} from "@aws-sdk/client-proton";

const [template, bucket, key, repository, connectionArn] = process.argv.slice(2);
const client = new ProtonClient({
  region: process.env.AWS_REGION,
  endpoint: process.env.HADRON_ENDPOINT,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
  maxAttempts: 1,
});

async function errorName(command) {
  try {
    await client.send(command);
    return null;
  } catch (err) {
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
}

try {
  await client.send(new CreateEnvironmentTemplateCommand({ name: template }));
  const created = await client.send(
    new CreateEnvironmentTemplateVersionCommand({
      templateName: template,
      source: { s3: { bucket, key } },
    }),
  );
  const v = created.environmentTemplateVersion;
  const waited = await waitUntilEnvironmentTemplateVersionRegistered(
    { client, minDelay: 1, maxDelay: 2, maxWaitTime: 60 },
    { templateName: template, majorVersion: v.majorVersion, minorVersion: v.minorVersion },
  );
  await client.send(
    new UpdateEnvironmentTemplateVersionCommand({
      templateName: template,
      majorVersion: "1",
      minorVersion: "0",
      status: "PUBLISHED",
    }),
  );
  const versions = await client.send(
    new ListEnvironmentTemplateVersionsCommand({ templateName: template }),
  );
  const got = await client.send(new GetEnvironmentTemplateCommand({ name: template }));
  const repo = await client.send(
    new CreateRepositoryCommand({ provider: "GITHUB", name: repository, connectionArn }),
  );
  const read = await client.send(new GetRepositoryCommand({ provider: "GITHUB", name: repository }));
  const listed = await client.send(new ListRepositoriesCommand({}));
  const duplicate = await errorName(
    new CreateRepositoryCommand({
      provider: "GITHUB",
      name: repository,
      connectionArn: connectionArn.replace(/connection\/.*/, "connection/other"),
    }),
  );
  await client.send(new DeleteRepositoryCommand({ provider: "GITHUB", name: repository }));
  const gone = await errorName(new GetRepositoryCommand({ provider: "GITHUB", name: repository }));
  console.log(
    JSON.stringify({
      createdStatus: v.status,
      waiterState: waited.state,
      versions: versions.templateVersions.map((t) => ({
        major: t.majorVersion,
        minor: t.minorVersion,
        status: t.status,
        arn: t.arn,
      })),
      recommendedVersion: got.environmentTemplate.recommendedVersion,
      repositoryArn: repo.repository.arn,
      readBack: read.repository.connectionArn === connectionArn,
      listed: listed.repositories.some((r) => r.name === repository),
      duplicate,
      gone,
    }),
  );
} catch (err) {
  console.log(JSON.stringify({ error: err.name, message: err.message }));
}
