// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @dev The few cheatcodes the tests use (forge-std cannot be installed here); one line per overload.
interface Vm {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(address emitter) external;
    function warp(uint256 timestamp) external;
    function assume(bool condition) external;
    function record() external;
    function accesses(address target) external returns (bytes32[] memory readSlots, bytes32[] memory writeSlots);
}

/// @dev Shared fixture: a registry, a claimed namespace "smollm" with one signer, and small assertions.
abstract contract ModelRegistryTestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what, bytes32 actual, bytes32 expected);
    error AssertionFailedString(string what, string actual, string expected);

    uint64 internal constant T0 = 1_700_000_000;

    string internal constant NS = "smollm";
    string internal constant MODEL = "smollm2-135m-instruct";
    string internal constant VERSION = "1.0.0";
    string internal constant DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    string internal constant OPERATOR_DID = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG";
    bytes32 internal constant MANIFEST = keccak256("manifest 1.0.0");
    bytes32 internal constant WEIGHTS = keccak256("weights 1.0.0");

    address internal constant ALICE = address(0xA11CE); // controller of NS
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA401);

    ModelRegistry internal registry;
    bytes32 internal nsId;
    bytes32 internal didHash;

    function setUp() public virtual {
        vm.warp(T0);
        registry = new ModelRegistry();
        nsId = keccak256(bytes(NS));
        didHash = keccak256(bytes(DID));
        vm.startPrank(ALICE);
        registry.claimNamespace(NS);
        registry.addSigner(nsId, DID);
        vm.stopPrank();
    }

    // ---- helpers ------------------------------------------------------------------------------

    function _publish(string memory model, string memory version_, bytes32 weights) internal returns (bytes32) {
        vm.prank(ALICE);
        return registry.publishRelease(NS, model, version_, _manifestOf(model, version_), weights, didHash);
    }

    /// @dev The manifest digest `_publish` uses for `model`/`version_`.
    function _manifestOf(string memory model, string memory version_) internal pure returns (bytes32) {
        return keccak256(abi.encode(model, version_));
    }

    function _relId(string memory ns, string memory model, string memory version_) internal pure returns (bytes32) {
        return keccak256(bytes(string.concat(ns, "/", model, "/", version_)));
    }

    function _modelId(string memory ns, string memory model) internal pure returns (bytes32) {
        return keccak256(bytes(string.concat(ns, "/", model)));
    }

    function _err(bytes4 selector, bytes32 a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a);
    }

    function _invalidName(IModelRegistry.NameKind kind, string memory name) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IModelRegistry.InvalidName.selector, kind, name);
    }

    function _notController(address account) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IModelRegistry.NotNamespaceController.selector, nsId, account, ALICE);
    }

    /// @dev `n` copies of byte `c`.
    function _repeat(bytes1 c, uint256 n) internal pure returns (string memory) {
        bytes memory b = new bytes(n);
        for (uint256 i; i < n; ++i) {
            b[i] = c;
        }
        return string(b);
    }

    // ---- DIDs, written plainly (independently of the contract's decoder) -----------------------

    bytes internal constant B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// @dev A valid DID for a test actor: the did:key of the 32 bytes keccak256(label) (neither the
    /// contract nor modelseal's rule checks that a did:key holds a point of the curve).
    function _did(string memory label) internal pure returns (string memory) {
        return _didKeyOf(keccak256(bytes(label)));
    }

    /// @dev The did:key of a 32-byte Ed25519 public key: "did:key:z" + base58btc(0xed01 ++ key).
    function _didKeyOf(bytes32 key) internal pure returns (string memory) {
        return string.concat("did:key:z", _b58(abi.encodePacked(hex"ed01", key)));
    }

    /// @dev Bitcoin base58 of `raw`: repeated long division by 58, one "1" per leading zero byte.
    function _b58(bytes memory raw) internal pure returns (string memory) {
        bytes memory num = bytes.concat(raw); // a copy, divided in place
        uint256 zeros;
        while (zeros < num.length && num[zeros] == 0) ++zeros;
        bytes memory digits = new bytes(num.length * 2); // least significant first
        uint256 count;
        for (uint256 start = zeros; start < num.length;) {
            uint256 rem;
            for (uint256 i = start; i < num.length; ++i) {
                uint256 acc = rem * 256 + uint8(num[i]);
                num[i] = bytes1(uint8(acc / 58));
                rem = acc % 58;
            }
            digits[count++] = B58_ALPHABET[rem];
            while (start < num.length && num[start] == 0) ++start;
        }
        bytes memory out = new bytes(zeros + count);
        for (uint256 i; i < zeros; ++i) {
            out[i] = "1";
        }
        for (uint256 i; i < count; ++i) {
            out[zeros + i] = digits[count - 1 - i];
        }
        return string(out);
    }

    /// @dev "did:pkh:eip155:<chainId>:0x<account in EIP-55 case>".
    function _didPkh(uint256 chainId, address account) internal pure returns (string memory) {
        return string.concat("did:pkh:eip155:", _dec(chainId), ":0x", _eip55(account));
    }

    /// @dev The 40 hex digits of `account` in EIP-55 case: letter i is upper case iff nibble i of
    /// keccak256(the 40 digits in lower case) is 8 or more.
    function _eip55(address account) internal pure returns (string memory) {
        bytes memory hexDigits = "0123456789abcdef";
        bytes memory out = new bytes(40);
        uint256 v = uint160(account);
        for (uint256 i; i < 40; ++i) {
            out[39 - i] = hexDigits[(v >> (4 * i)) & 0xf];
        }
        bytes32 h = keccak256(out);
        for (uint256 i; i < 40; ++i) {
            uint256 nibble = (uint8(h[i / 2]) >> (i % 2 == 0 ? 4 : 0)) & 0xf;
            if (uint8(out[i]) >= 0x61 && nibble >= 8) out[i] = bytes1(uint8(out[i]) - 0x20);
        }
        return string(out);
    }

    /// @dev `v` in decimal.
    function _dec(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory out = new bytes(78);
        uint256 n;
        for (; v != 0; v /= 10) {
            out[77 - n++] = bytes1(uint8(0x30 + v % 10));
        }
        bytes memory trimmed = new bytes(n);
        for (uint256 i; i < n; ++i) {
            trimmed[i] = out[78 - n + i];
        }
        return string(trimmed);
    }

    // ---- assertions ---------------------------------------------------------------------------

    function _eq(bytes32 actual, bytes32 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionFailed(what, actual, expected);
    }

    function _eq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionFailed(what, bytes32(actual), bytes32(expected));
    }

    function _eq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) {
            revert AssertionFailed(what, bytes32(uint256(uint160(actual))), bytes32(uint256(uint160(expected))));
        }
    }

    function _eq(string memory actual, string memory expected, string memory what) internal pure {
        if (keccak256(bytes(actual)) != keccak256(bytes(expected))) {
            revert AssertionFailedString(what, actual, expected);
        }
    }

    function _true(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what, bytes32(0), bytes32(uint256(1)));
    }

    function _noOrigins() internal pure returns (string[] memory) {
        return new string[](0);
    }
}
