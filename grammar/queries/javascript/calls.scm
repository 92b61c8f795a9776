; Calls: the callee (@call.function) and the parenthesised arguments (@call.arguments).
(call_expression function: (_) @call.function arguments: (arguments) @call.arguments) @call
(new_expression constructor: (_) @call.function arguments: (arguments) @call.arguments) @call
