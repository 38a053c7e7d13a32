import Foundation

extension FakeProvider {
    /// What the fake answers by, from a request body: model, streaming, the usage chunk, the
    /// output cap and how many messages or inputs there are (contents are skipped, not decoded).
    struct RequestShape: Decodable {
        var model = ""
        var stream = false
        var includeUsage = false
        var maxTokens: Int?
        var messages: Int?
        /// Items of an embeddings `input` array (nil for a single string).
        var inputItems: Int?
        /// The first tool offered (`tools[0].name`, Anthropic; `tools[0].function.name`, OpenAI).
        var tool: String?
        /// Whether the last message hands back a tool's result (then the fake answers in text).
        var afterToolResult = false

        /// The tool the answer calls: the first one offered, unless its result is back.
        var toolToCall: String? { afterToolResult ? nil : tool }

        /// Tokens the fake reports: input 10 per message (or input item).
        var inputTokens: Int { 10 * max(1, messages ?? inputItems ?? 1) }

        /// Output: one token per word, `max_completion_tokens` or `max_tokens` of them (1...256).
        func outputWords(default value: Int) -> Int { max(1, min(maxTokens ?? value, 256)) }

        private struct Skipped: Decodable {
            init(from decoder: any Decoder) throws {}
        }

        private struct StreamOptions: Decodable {
            var include_usage: Bool?
        }

        private struct Tool: Decodable {
            struct Function: Decodable { var name: String? }
            var name: String?
            var function: Function?
        }

        /// Just what tells a tool result: the role, and the content's block types.
        private struct Message: Decodable {
            struct Block: Decodable { var type: String? }
            var role: String?
            var content: [Block]?

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                role = try? container.decodeIfPresent(String.self, forKey: .role)
                content = (try? container.decodeIfPresent([Block].self, forKey: .content)) ?? nil
            }

            private enum CodingKeys: String, CodingKey { case role, content }
        }

        private enum Keys: String, CodingKey {
            case model, stream, messages, input, tools
            case streamOptions = "stream_options"
            case maxTokens = "max_tokens"
            case maxCompletionTokens = "max_completion_tokens"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            model = (try? container.decodeIfPresent(String.self, forKey: .model)) ?? ""
            stream = (try? container.decodeIfPresent(Bool.self, forKey: .stream)) ?? false
            includeUsage = (try? container.decodeIfPresent(StreamOptions.self, forKey: .streamOptions))??.include_usage ?? false
            maxTokens = (try? container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)) ?? nil
            if maxTokens == nil { maxTokens = (try? container.decodeIfPresent(Int.self, forKey: .maxTokens)) ?? nil }
            let given = (try? container.decodeIfPresent([Message].self, forKey: .messages)) ?? nil
            messages = given?.count
            if let last = given?.last {
                afterToolResult = last.role == "tool" || (last.content ?? []).contains { $0.type == "tool_result" }
            }
            let tools = (try? container.decodeIfPresent([Tool].self, forKey: .tools)) ?? nil
            tool = tools?.first.flatMap { $0.name ?? $0.function?.name }
            inputItems = (try? container.decodeIfPresent([Skipped].self, forKey: .input))??.count
        }

        /// For a body that is not a JSON object: every field at its default.
        init() {}
    }

    /// A non-streamed chat completion (`openai-python`: `src/openai/types/chat/chat_completion.py`).
    struct ChatCompletion: Encodable {
        struct Message: Encodable {
            var role = "assistant"
            var content: String
        }

        struct Choice: Encodable {
            var index = 0
            var message: Message
            var finish_reason = "stop"
        }

        struct Details: Encodable {
            var cached_tokens: Int
        }

        struct Usage: Encodable {
            var prompt_tokens: Int
            var completion_tokens: Int
            var total_tokens: Int
            var prompt_tokens_details: Details
        }

        var id = "chatcmpl-fake"
        var object = "chat.completion"
        var created = 1_700_000_000
        var model: String
        var choices: [Choice]
        var usage: Usage

        init(model: String, content: String, input: Int, output: Int, cached: Int) {
            self.model = model
            choices = [Choice(message: Message(content: content))]
            usage = Usage(prompt_tokens: input, completion_tokens: output, total_tokens: input + output,
                          prompt_tokens_details: Details(cached_tokens: cached))
        }
    }
}
