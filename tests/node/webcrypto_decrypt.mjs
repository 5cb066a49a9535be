// Decrypts one ENCRYPTION_MODE=gcm response with the browser's WebCrypto API (crypto.subtle),
// exactly as the README shows for kiosk frontends; Node 20 exposes the same API.
// Input on stdin: {"key": "<64 hex chars>", "path": "/api/v1/...", "data": "<base64>"}
// Output on stdout: the decrypted UTF-8 plaintext, nothing else.

async function decryptResponse(body, hexKey, path) {
  const raw = Uint8Array.from(atob(body.data), (c) => c.charCodeAt(0));
  const keyBytes = new Uint8Array(hexKey.match(/../g).map((h) => parseInt(h, 16)));
  const key = await crypto.subtle.importKey("raw", keyBytes, "AES-GCM", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: raw.slice(0, 12), additionalData: new TextEncoder().encode(path) },
    key,
    raw.slice(12),
  );
  return new TextDecoder().decode(plain);
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { key, path, data } = JSON.parse(input);
  try {
    process.stdout.write(await decryptResponse({ data }, key, path));
  } catch (error) {
    process.stderr.write(`decryption failed: ${error}\n`);
    process.exit(1);
  }
});
