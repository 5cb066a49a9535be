#!/usr/bin/env node
// Decrypts one encrypted response the way kiosk frontends built for the earlier service do.
// Input on stdin: {"key": "<ENCRYPTION_KEY>", "iv": "<ENCRYPTION_IV>", "ciphertext": "<base64>"}
// Output on stdout: the decrypted UTF-8 plaintext, nothing else.
// Setup: npm ci --prefix tests/node
"use strict";

const CryptoJS = require("crypto-js");

// The configured text truncated or right-padded with '0', as the kiosks fit key and IV.
function fit(text, length) {
  return text.substring(0, length).padEnd(length, "0");
}

function decrypt({ key, iv, ciphertext }) {
  const key32 = fit(key, 32);
  const iv16 = fit(iv, 16);
  return CryptoJS.AES.decrypt(ciphertext, CryptoJS.enc.Utf8.parse(key32), {
    iv: CryptoJS.enc.Utf8.parse(iv16),
    mode: CryptoJS.mode.CBC,
    padding: CryptoJS.pad.Pkcs7,
  }).toString(CryptoJS.enc.Utf8);
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  let plaintext;
  try {
    plaintext = decrypt(JSON.parse(input));
  } catch (error) {
    process.stderr.write(`decrypt failed: ${error.message}\n`);
    process.exit(1);
  }
  if (plaintext === "") {
    process.stderr.write("decrypt failed: empty plaintext (wrong key or IV?)\n");
    process.exit(1);
  }
  process.stdout.write(plaintext);
});
