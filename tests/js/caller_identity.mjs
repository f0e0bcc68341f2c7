// An independent SigV4 signer for Hadron's tests: the AWS SDK for JavaScript v3 calls
// sts:GetCallerIdentity. Endpoint and credentials come from the environment; the local CA
// comes from NODE_EXTRA_CA_CERTS. Prints one JSON line: the identity, or the error's name.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const client = new STSClient({
  region: process.env.AWS_REGION,
  endpoint: process.env.HADRON_ENDPOINT,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    sessionToken: process.env.AWS_SESSION_TOKEN,
  },
  maxAttempts: 1,
});

try {
  const out = await client.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ Arn: out.Arn, Account: out.Account, UserId: out.UserId }));
} catch (err) {
  console.log(JSON.stringify({ error: err.name, status: err.$metadata?.httpStatusCode }));
}
