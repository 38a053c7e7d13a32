// flotilla-node: the Flotilla node agent. All logic lives in FlotillaNode; when the agent is
// built for a board as one Embedded Swift module, the library is part of this module and there
// is nothing to import.
#if canImport(FlotillaNode)
import FlotillaNode
#endif

NodeCommand.main()
