import FlotillaCLI

await FlotillaCommand.start()
