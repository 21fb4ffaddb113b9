package chain

// Genesis nonces: each network's genesis header meets its own target
// (TestGenesis checks them and the hashes below).
const (
	mainnetGenesisNonce = 51713 // 000091b7de9fa0ea5c1335f32abb545dcd5a92ea7fb0f644047fc19d8fc1bbc2
	testnetGenesisNonce = 39    // 0046288329d5eec4ab168c9961d5ffc8a901df9202309c136287f6503a5baf65
	devnetGenesisNonce  = 0     // b33b4a6b44aa0308ae2d3fab6e0570c4cd46e8ce994231ab4e158af96e99d07b
)
