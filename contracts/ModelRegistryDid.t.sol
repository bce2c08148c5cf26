// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";
import {ModelRegistryTestBase} from "./ModelRegistryTestBase.t.sol";

/// @dev The DID rule (InvalidName kind 4) of addSigner and authorizeOperator: an Ed25519 did:key or an
/// EIP-55 did:pkh:eip155, each in its one spelling, exactly as registry.signing.keys.check_did
/// (tests/test_did_differential.py compares the two through a real chain).
contract ModelRegistryDidTest is ModelRegistryTestBase {
    // An EIP-55 vector (eips.ethereum.org/EIPS/eip-55) with letters of both cases.
    string internal constant PKH = "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    string internal constant MAX_CHAIN = "18446744073709551615"; // 2**64 - 1

    // =============================================================================================
    // The test helpers against known vectors
    // =============================================================================================

    function test_helpers_match_known_vectors() public pure {
        _eq(_didKeyOf(0x2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6), DID, "did:key");
        // W3C CCG did:key test vector
        _eq(
            _didKeyOf(0x3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29),
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "w3c vector"
        );
        _eq(_eip55(0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed), "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eip55 1");
        _eq(_eip55(0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359), "fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "eip55 2");
        _eq(_eip55(0x52908400098527886E0F7030069857D2E4169EE7), "52908400098527886E0F7030069857D2E4169EE7", "eip55 3");
        _eq(_eip55(0xde709f2102306220921060314715629080e2fb77), "de709f2102306220921060314715629080e2fb77", "eip55 4");
        _eq(_didPkh(1, 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed), PKH, "did:pkh");
        _eq(_dec(type(uint64).max), MAX_CHAIN, "decimal");
    }

    // =============================================================================================
    // Accepted
    // =============================================================================================

    function test_accepts_ed25519_did_keys_and_eip55_did_pkhs() public {
        string[12] memory good = [
            OPERATOR_DID,
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:z6MkeTG3bFFSLYVU7VqhgZxqr6YzpaGrQtFMh1uvqGy1vDnP", // 0xed01 ++ 32 zero bytes, the least
            "did:key:z6MkwgaR63138bEEgad7uk993KMX54vBA6KTB4sFhCPnSB2e", // 0xed01 ++ 32 0xff bytes, the greatest
            PKH,
            "did:pkh:eip155:18446744073709551615:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "did:pkh:eip155:31337:0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "did:pkh:eip155:10:0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "did:pkh:eip155:9:0x52908400098527886E0F7030069857D2E4169EE7", // every letter upper case
            "did:pkh:eip155:100:0xde709f2102306220921060314715629080e2fb77", // every letter lower case
            "did:pkh:eip155:1:0x1234567890123456789012345678901234567890", // digits only: no case to check
            "did:pkh:eip155:1:0x0000000000000000000000000000000000000000"
        ];
        vm.startPrank(ALICE);
        for (uint256 i; i < good.length; ++i) {
            vm.expectEmit(address(registry));
            emit IModelRegistry.SignerAdded(nsId, keccak256(bytes(good[i])), NS, good[i], T0);
            registry.addSigner(nsId, good[i]);
            registry.authorizeOperator(NS, MODEL, "", good[i], T0 + 1, _noOrigins());
            _true(registry.isSignerAt(nsId, keccak256(bytes(good[i])), T0), good[i]);
        }
        vm.stopPrank();
    }

    // =============================================================================================
    // Refused
    // =============================================================================================

    function test_refuses_other_strings_and_other_spellings() public {
        string[38] memory bad = [
            "hello",
            "",
            "did:key:",
            "did:pkh:",
            // one account, other spellings: all lower case, all upper case, one letter's case flipped
            "did:pkh:eip155:1:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "did:pkh:eip155:1:0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            "did:pkh:eip155:1:0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155:1:0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            // chain ids: 0, a leading zero, 2**64, 21 digits, none, a sign, a space
            "did:pkh:eip155:0:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155:01:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155:18446744073709551616:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155:100000000000000000000:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155::0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155:+1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "did:pkh:eip155: 1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            // addresses: 39 and 41 digits, a non-hex letter, another namespace
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
            "did:pkh:bip122:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            // did:key: 46 and 48 digits, a leading "1" (a zero byte), other multicodecs or encodings
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpp",
            "did:key:z16MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", // secp256k1-pub
            "did:key:f6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            // a character outside the base58 alphabet: 0, O, I, l, +
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo0p",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooOp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooIp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoolp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo+p",
            // "z6Mk" and 47 digits, but 0xed00ff..ff and 0xed0200..00: not ed25519-pub
            "did:key:z6MkeTG3bFFSLYVU7VqhgZxqr6YzpaGrQtFMh1uvqGy1vDnN",
            "did:key:z6MkwgaR63138bEEgad7uk993KMX54vBA6KTB4sFhCPnSB2f",
            // a fragment, a trailing or leading space, a trailing newline, upper-case method
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp ",
            " did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed#blockchainAccountId",
            "did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n",
            "DID:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        ];
        for (uint256 i; i < bad.length; ++i) {
            _expectRefused(bad[i]);
        }
        // Non-ASCII: a 2-byte character in place of two digits keeps the length. "±" is C2 B1: with
        // their top bit cleared, both bytes would be base58 digits ("B", "1").
        _expectRefused(unicode"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooé");
        _expectRefused(unicode"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo±");
        _expectRefused(unicode"did:key:z6Mk±Bz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
        _expectRefused(unicode"did:pkh:eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAé");
        // A byte that is not a hex digit in place of the last one, below "A" and above "f"; also in
        // an address of digits only, where no checksum letter could give it away.
        bytes memory nonHex = " /:@G`gz";
        for (uint256 i; i < nonHex.length; ++i) {
            bytes memory did = bytes(PKH);
            did[did.length - 1] = nonHex[i];
            _expectRefused(string(did));
            did = bytes(_didPkh(1, address(0)));
            did[did.length - 1] = nonHex[i];
            _expectRefused(string(did));
        }
    }

    // =============================================================================================
    // Fuzzed
    // =============================================================================================

    /// Every Ed25519 public key has its did:key accepted, under the key keccak256(did).
    function testFuzz_every_ed25519_did_key_is_accepted(bytes32 key) public {
        string memory did = _didKeyOf(key);
        _eq(bytes(did).length, 56, "length");
        vm.startPrank(ALICE);
        if (keccak256(bytes(did)) != didHash) registry.addSigner(nsId, did);
        registry.authorizeOperator(NS, MODEL, "", did, T0 + 1, _noOrigins());
        vm.stopPrank();
        _true(registry.isSignerAt(nsId, keccak256(bytes(did)), T0), "signer");
    }

    /// The base58 of any other 34-byte value is refused: near 0xed01 (0xecff, 0xed00, 0xed02,
    /// 0xed03 above the 32 key bytes) or anywhere.
    function testFuzz_other_multicodec_values_are_refused(uint16 top, bool nearEd01, bytes32 low) public {
        if (nearEd01) top = [uint16(0xecff), 0xed00, 0xed02, 0xed03][top % 4];
        vm.assume(top != 0xed01);
        _expectRefused(string.concat("did:key:z", _b58(abi.encodePacked(top, low))));
    }

    /// One byte outside the base58 alphabet anywhere among the 47 digits is refused.
    function testFuzz_a_non_alphabet_byte_is_refused(bytes32 key, uint8 position, uint8 b) public {
        for (uint256 i; i < B58_ALPHABET.length; ++i) {
            vm.assume(uint8(B58_ALPHABET[i]) != b);
        }
        bytes memory did = bytes(_didKeyOf(key));
        did[9 + position % 47] = bytes1(b);
        _expectRefused(string(did));
    }

    /// An account's did:pkh is accepted in its EIP-55 case only, for every chain id 1..2**64-1.
    function testFuzz_did_pkh_only_in_its_checksum_case(address account, uint64 chainId, uint8 position) public {
        vm.assume(chainId != 0);
        string memory did = _didPkh(chainId, account);
        vm.startPrank(ALICE);
        registry.addSigner(nsId, did);
        registry.authorizeOperator(NS, MODEL, "", did, T0 + 1, _noOrigins());
        vm.stopPrank();
        // The same account with one letter's case flipped.
        bytes memory flipped = bytes(did);
        uint256 pos = flipped.length - 40 + position % 40;
        if (uint8(flipped[pos]) >= 0x41) {
            flipped[pos] = bytes1(uint8(flipped[pos]) ^ 0x20);
            _expectRefused(string(flipped));
        }
    }

    /// One byte that is not a hex digit anywhere among the 40 is refused.
    function testFuzz_a_non_hex_byte_in_the_address_is_refused(address account, uint8 position, uint8 b) public {
        vm.assume(!((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)));
        bytes memory did = bytes(_didPkh(1, account));
        did[did.length - 40 + position % 40] = bytes1(b);
        _expectRefused(string(did));
    }

    /// The chain id is 1..2**64-1: fuzzed anywhere, near 2**64, and small.
    function testFuzz_did_pkh_chain_id_bounds(uint256 chainId, uint8 mode, address account) public {
        if (mode % 3 == 1) chainId = uint256(type(uint64).max) - 2 + chainId % 5;
        if (mode % 3 == 2) chainId %= 3;
        string memory did = _didPkh(chainId, account);
        if (chainId == 0 || chainId > type(uint64).max) {
            _expectRefused(did);
        } else {
            vm.prank(ALICE);
            registry.addSigner(nsId, did);
        }
    }

    function _expectRefused(string memory did) internal {
        vm.startPrank(ALICE);
        vm.expectRevert(_invalidName(IModelRegistry.NameKind.Did, did));
        registry.addSigner(nsId, did);
        vm.expectRevert(_invalidName(IModelRegistry.NameKind.Did, did));
        registry.authorizeOperator(NS, MODEL, "", did, T0 + 1, _noOrigins());
        vm.stopPrank();
    }
}
