import KeelCore
import KeelDMCore

typealias Model = VirtioBackend<ByteRAM, ByteDisk>

/// The frontend's RAM base the tests use (the IPA its driver writes into descriptors).
let ramBase = FakeDriver.ramBase
