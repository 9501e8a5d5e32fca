SELECT message_id FROM orders
