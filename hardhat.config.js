// Hardhat 3, fully offline: every compiler is the npm `solc` WASM build, given by `path`,
// so Hardhat never downloads a compiler list. See ../shared/TOOLCHAIN.md (or docs/development.md).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const settings = {
  evmVersion: "cancun", // py-evm (eth-tester) stops at Prague; solc >= 0.8.31 defaults to osaka
  optimizer: { enabled: true, runs: 200 },
};

export default {
  solidity: {
    compilers: [
      { version: "0.8.37", path: require.resolve("solc/soljson.js"), settings },
      // EAS 1.9.0 pins `pragma solidity 0.8.29`; built only for the gas comparison in bench/gas.py.
      { version: "0.8.29", path: require.resolve("solc-0829/soljson.js"), settings },
    ],
    npmFilesToBuild: [
      "@ethereum-attestation-service/eas-contracts/contracts/EAS.sol",
      "@ethereum-attestation-service/eas-contracts/contracts/SchemaRegistry.sol",
    ],
  },
  paths: {
    sources: "./contracts",
    tests: { solidity: "./contracts" },
  },
};
